"""The Splink model: comparisons written as DuckDB SQL over the features of :mod:`.features`, unsupervised
training (u by random sampling, m by expectation maximisation), and saving/loading per version as Splink's
own JSON settings file.

Every DuckDB connection made here has extension auto-install and auto-load switched off: production has
no network, and nothing the comparisons use (``jaro_winkler_similarity``, ``levenshtein``, list functions)
lives outside DuckDB's core.
"""

import copy
import json
import logging
import os
import tempfile
from pathlib import Path

import duckdb

MODEL_FORMAT = "weibao-linkage-1"  # bump when FEATURES or the comparisons change meaning


def connect(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that never downloads or auto-loads an extension."""
    # Insertion order is never relied on (pairs are sorted where it matters); without it DuckDB keeps less in
    # memory while scoring (full scale, 3 GB limit: 205 → 182 s under the same load, peak unchanged).
    config = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "preserve_insertion_order": False,
    }
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(":memory:", config=config)
    # where DuckDB spills beyond its memory limit (its default, ./.tmp, would land in the working directory)
    tmp = os.environ.get("WEIBAO_LINKAGE_TMP") or os.path.join(tempfile.gettempdir(), "weibao-linkage")
    con.execute("SET temp_directory = ?", [tmp])
    return con


def _level(sql: str, label: str, *, null: bool = False, exact: bool = False) -> dict:
    level = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _else() -> dict:
    return {"sql_condition": "ELSE", "label_for_charts": "all other"}


def _both(col: str) -> str:
    return f'"{col}_l" IS NOT NULL AND "{col}_r" IS NOT NULL'


def _either_null(col: str) -> str:
    return f'"{col}_l" IS NULL OR "{col}_r" IS NULL'


NAME = {
    "output_column_name": "name",
    "comparison_description": "name: characters, pinyin (homophones, variants), swapped/missing characters",
    "comparison_levels": [
        _level(_either_null("py"), "null", null=True),
        _level('"nm_l" = "nm_r"', "same characters"),
        _level('"py_l" = "py_r"', "same pinyin (homophone or variant character)"),
        _level('"nsort_l" = "nsort_r"', "same characters, swapped order"),
        _level(
            '"sn_l" = "sn_r" AND "gpy_l" IS NOT NULL AND "gpy_r" IS NOT NULL AND '
            '(contains("gpy_l", "gpy_r") OR contains("gpy_r", "gpy_l") OR '
            'jaro_winkler_similarity("py_l", "py_r") >= 0.92)',
            "same surname, given name missing a character or close",
        ),
        _level('"sn_l" = "sn_r" AND ("gpy_l" IS NULL OR "gpy_r" IS NULL)', "surname only on one side"),
        _level(
            '"ini_l" = "ini_r" OR jaro_winkler_similarity("py_l", "py_r") >= 0.85', "same initials or similar"
        ),
        _else(),
    ],
}

DOB = {
    "output_column_name": "birth_date",
    "comparison_description": "birth date: exact, day/month swapped, one typo, same month",
    "comparison_levels": [
        _level(_either_null("dob"), "null", null=True),
        _level('"dob_l" = "dob_r"', "exact"),
        _level(
            'substr("dob_l", 1, 4) = substr("dob_r", 1, 4) AND substr("dob_l", 6, 2) = substr("dob_r", 9, 2) '
            'AND substr("dob_l", 9, 2) = substr("dob_r", 6, 2)',
            "day and month swapped",
        ),
        _level('levenshtein("dob_l", "dob_r") <= 1', "one character differs"),
        _level('levenshtein("dob_l", "dob_r") <= 2', "two characters differ"),
        _else(),
    ],
}

SEX = {
    "output_column_name": "sex",
    "comparison_description": "sex",
    "comparison_levels": [
        _level(_either_null("sex"), "null", null=True),
        _level('"sex_l" = "sex_r"', "same"),
        _else(),
    ],
}

_ANY_L = 'coalesce("addr_l", "loc_l", "pc_l", "reg_l", "gd_l", "ph_l")'
_ANY_R = 'coalesce("addr_r", "loc_r", "pc_r", "reg_r", "gd_r", "ph_r")'
_SAME_PHONE = 'right("ph_l", 8) = right("ph_r", 8)'
_GUARDIAN = "list_has_any(string_split(\"gd_l\", '|'), string_split(\"gd_r\", '|'))"
# Place, guardians and phone are one comparison: siblings share all three, and counting them as
# independent evidence (three comparisons) made brothers and sisters look like one child.
HOUSEHOLD = {
    "output_column_name": "household",
    "comparison_description": "household: phone, guardians' names, address, street/locality, postcode, region",
    "comparison_levels": [
        _level(f"{_ANY_L} IS NULL OR {_ANY_R} IS NULL", "null", null=True),
        _level(f"{_SAME_PHONE} AND {_GUARDIAN}", "same phone and a guardian in common"),
        _level(f"{_SAME_PHONE} OR {_GUARDIAN}", "same phone or a guardian in common"),
        _level('"addr_l" = "addr_r"', "same address"),
        _level(
            '"loc_l" = "loc_r" OR ("addr_l" IS NOT NULL AND "addr_r" IS NOT NULL AND '
            'jaro_winkler_similarity("addr_l", "addr_r") >= 0.9)',
            "same street/locality or similar address",
        ),
        _level('"pc_l" = "pc_r"', "same postcode"),
        _level('"reg_l" = "reg_r"', "same region/district"),
        _else(),
    ],
}

DOCUMENT = {
    "output_column_name": "document",
    "comparison_description": "ID number as typed and other identifiers",
    "comparison_levels": [
        _level(f"NOT (({_both('idr')}) OR ({_both('idf')}))", "null", null=True),
        _level('"idr_l" = "idr_r" OR "idf_l" = "idf_r"', "same number"),
        _level(f'{_both("idk")} AND "idk_l" <> "idk_r"', "both valid ID numbers, different"),
        _level('levenshtein("idr_l", "idr_r") <= 2', "mistyped ID number (1–2 characters)"),
        _else(),
    ],
}

COMPARISONS = [NAME, DOB, SEX, HOUSEHOLD, DOCUMENT]

# Starting m values (non-null levels, in order): EM starts from them, and they stay when a file is too
# small or too narrow for a session to estimate a comparison (link_files on a few dozen rows).
PRIOR_M = {
    "name": [0.80, 0.06, 0.02, 0.06, 0.01, 0.03, 0.02],
    "birth_date": [0.90, 0.01, 0.05, 0.02, 0.02],
    "sex": [0.98, 0.02],
    "household": [0.30, 0.25, 0.10, 0.20, 0.05, 0.05, 0.05],
    "document": [0.90, 0.005, 0.08, 0.015],
}
# u values for files too small to sample non-matches from (a few hundred records): rough shares among
# random pairs of people in one city; the "else" levels take the rest.
PRIOR_U = {
    "name": [0.0005, 0.0005, 0.0002, 0.005, 0.005, 0.01, 0.9788],
    "birth_date": [0.0002, 0.00002, 0.005, 0.03, 0.96478],
    "sex": [0.5, 0.5],
    "household": [1e-4, 1e-3, 1e-3, 0.005, 0.001, 0.06, 0.9299],
    "document": [1e-6, 0.9, 1e-5, 0.099989],
}
MIN_RECORDS_TO_TRAIN = 1000

for _comp in COMPARISONS:
    _levels = [lv for lv in _comp["comparison_levels"] if not lv.get("is_null_level")]
    for _lv, _m in zip(_levels, PRIOR_M[_comp["output_column_name"]], strict=True):
        _lv["m_probability"] = _m
    for _lv, _u in zip(_levels, PRIOR_U[_comp["output_column_name"]], strict=True):
        _lv["u_probability"] = _u

# Candidate pairs: any one rule suffices. Each must keep blocks small on a population of millions: at full
# scale (1 M incoming × 3 M registry, docs/PERFORMANCE.md) every candidate pair costs ~3 µs of scoring. The
# equality part of a rule is the hash join; the rest is a filter applied before scoring, dropping pairs the
# comparisons would rate "a different child" on that very field (a wholly different given name, a birth
# date more than two characters off) — those cannot reach the lower threshold without the phone, guardian
# or ID evidence that the last three rules find anyway.
_DOB_CLOSE = '(l."dob" IS NULL OR r."dob" IS NULL OR levenshtein(l."dob", r."dob") <= 2)'
_GIVEN_CLOSE = (
    '(l."gpy" IS NULL OR r."gpy" IS NULL OR l."nsort" = r."nsort" OR contains(l."gpy", r."gpy") '
    'OR contains(r."gpy", l."gpy") OR jaro_winkler_similarity(l."py", r."py") >= 0.92)'
)
PREDICTION_BLOCKING_RULES = [
    'l."py" = r."py" AND substr(l."dob", 1, 7) = substr(r."dob", 1, 7)',
    f'l."dob" = r."dob" AND l."sn" = r."sn" AND {_GIVEN_CLOSE}',
    'l."dob" = r."dob" AND l."loc" = r."loc"',
    f'l."py" = r."py" AND l."loc" = r."loc" AND {_DOB_CLOSE}',
    f'l."py" = r."py" AND l."pc" = r."pc" AND {_DOB_CLOSE}',
    'l."dob" = r."dob" AND l."ini" = r."ini"',
    'l."ph" = r."ph" AND l."sn" = r."sn"',
    'l."idr" = r."idr"',
    'l."idf" = r."idf"',
]

# EM sessions: each blocks on some fields and estimates m for the others.
# Splink leaves out of an EM session every comparison that reads a column of its blocking rule, so
# two sessions: the first trains name, the second household and birth date (both train the rest).
TRAINING_BLOCKING_RULES = [
    'l."dob" = r."dob" AND l."loc" = r."loc"',
    'l."py" = r."py" AND l."sex" = r."sex"',
]

# EM on clean synthetic or narrow data can drive m of "all other" to ~0 (a sex or phone mismatch would
# then veto any link at -30 bits). Real data have such errors, so m is floored at M_FLOOR after training.
M_FLOOR = 0.002
# ...and m of the levels that say "a different child" is capped: EM sees twins (same birth date, surname
# and household, different given name) as matches and would otherwise learn that a completely different
# given name or birth date is common among true matches. 0.002 ≈ one record in 500 with its given name
# replaced or its birth date wholly wrong.
M_CEILINGS = {
    ("name", "all other"): 0.002,
    ("birth_date", "all other"): 0.002,
}


def settings(link_type: str = "link_only") -> dict:
    """A fresh, untrained Splink settings dict."""
    return {
        "link_type": link_type,
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 1e-6,
        "comparisons": copy.deepcopy(COMPARISONS),
        "blocking_rules_to_generate_predictions": list(PREDICTION_BLOCKING_RULES),
        "retain_intermediate_calculation_columns": False,
        "retain_matching_columns": False,
        "additional_columns_to_retain": ["idk"],
        "max_iterations": 15,
        "em_convergence": 0.001,
    }


class Model:
    """A trained (or loaded) Splink settings dict plus its version label."""

    def __init__(self, settings_dict: dict, version: str = ""):
        self.settings = settings_dict
        self.version = version or settings_dict.get("linker_uid", "")

    def for_link_type(self, link_type: str) -> dict:
        s = copy.deepcopy(self.settings)
        s["link_type"] = link_type
        # Blocking is the engine's business, not a trained parameter: models saved with older rules use
        # the current ones.
        s["blocking_rules_to_generate_predictions"] = list(PREDICTION_BLOCKING_RULES)
        s["additional_columns_to_retain"] = ["idk"]
        s["retain_intermediate_calculation_columns"] = True  # mw_<comparison>: per-field weights for review
        return s

    def save(self, path: str | Path) -> Path:
        """Write the Splink JSON settings file (loadable by ``Linker(df, path)`` as well as by :meth:`load`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = copy.deepcopy(self.settings)
        data["linker_uid"] = self.version or data.get("linker_uid")
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Model":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if "comparisons" not in data:
            raise ValueError(f"{path} is not a Splink model file")
        return cls(data, data.get("linker_uid", ""))

    def match_weights(self) -> dict:
        """{comparison: {level label: match weight}} — for the review page."""
        import math

        out = {}
        for comp in self.settings["comparisons"]:
            levels = {}
            for lv in comp["comparison_levels"]:
                m, u = lv.get("m_probability"), lv.get("u_probability")
                if m and u:
                    levels[lv["label_for_charts"]] = round(math.log2(m / u), 2)
            out[comp["output_column_name"]] = levels
        return out


def floor_m(settings_dict: dict, floor: float = M_FLOOR) -> dict:
    """Raise every trained or missing m probability of a non-null level to at least ``floor``."""
    for comp in settings_dict["comparisons"]:
        for lv in comp["comparison_levels"]:
            if lv.get("is_null_level"):
                continue
            m = lv.get("m_probability")
            m = max(m if m is not None else floor, floor)
            ceiling = M_CEILINGS.get((comp["output_column_name"], lv["label_for_charts"]))
            lv["m_probability"] = min(m, ceiling) if ceiling else m
            if lv.get("u_probability") is None:
                lv["u_probability"] = floor
    return settings_dict


def quiet_splink() -> None:
    logging.getLogger("splink").setLevel(logging.ERROR)
