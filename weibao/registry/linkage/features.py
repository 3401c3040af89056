"""Turning records into comparison features: one pass in Python over *distinct* values, vectorised by pandas.

Input is a pandas DataFrame with a ``unique_id`` column and any of the :data:`ROLES` columns (missing
roles are simply absent). Output has one row per record and the columns of :data:`FEATURES`, all strings
or nulls, which the Splink comparisons in :mod:`.model` read.

Chinese names are normalised to simplified characters (OpenCC ``t2s``, offline), split into surname and
given name (compound surnames and surnames with their own reading first) and turned into pinyin with the
per-character table of :mod:`weibao.lib.pinyin`. Names without Chinese characters (``John Smith``,
``Müller``) are lower-cased, stripped of accents and compared on their letters, with the family name as
"surname". Every conversion is cached on the distinct value, so a million records with a hundred thousand
distinct names cost a hundred thousand conversions.
"""

import datetime
import re
import unicodedata
from functools import cache, lru_cache

import pandas as pd

from weibao.lib.checksums import normalise_id_number, validate_id_number
from weibao.lib.masking import COMPOUND_SURNAMES
from weibao.lib.pinyin import SURNAME_READINGS, char_pinyin

ROLES = (
    "full_name", "given_name", "family_name", "birth_date", "sex", "id_number", "identifier", "address",
    "locality", "postcode", "region", "phone", "guardian_name",
)  # fmt: skip

# nm: name as written (simplified); sn: surname key; py: full pinyin / letters; gpy: given-name pinyin;
# nsort: surname + sorted given syllables (swapped characters); ini: initials; dob: YYYY-MM-DD;
# idk: valid mainland ID (exact key); idr: any ID-number string as typed (typo level); idf: other identifier;
# addr/loc/pc/reg: address, street/locality, postcode, region; ph: phone digits; gd: guardians' pinyin, "|"-joined.
FEATURES = (
    "unique_id", "nm", "sn", "py", "gpy", "nsort", "ini", "dob", "sex", "idk", "idr", "idf", "addr", "loc",
    "pc", "reg", "ph", "gd",
)  # fmt: skip

GUARDIAN_SEPARATORS = re.compile(r"[;；,，/、|]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef]")
_NOT_WORD = re.compile(r"[^\w]+")
_DATE = re.compile(r"^\s*(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})\s*$")
_SEX = {
    "m": "M", "male": "M", "man": "M", "boy": "M", "1": "M", "男": "M", "h": "M",
    "f": "F", "female": "F", "woman": "F", "girl": "F", "2": "F", "女": "F", "w": "F",
}  # fmt: skip


class FeatureError(ValueError):
    """A value that cannot be read at all (e.g. a birth date that is not a date), with the column named."""


@cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=500_000)
def simplified(text: str) -> str:
    """Traditional → simplified characters (only when the text holds Chinese characters)."""
    return _t2s().convert(text) if _CJK.search(text) else text


def _blank(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _latin(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    return " ".join(_NOT_WORD.sub(" ", "".join(c for c in plain if not unicodedata.combining(c))).split())


@lru_cache(maxsize=1_000_000)
def name_features(family: str, given: str, full: str) -> tuple:
    """(nm, sn, py, gpy, nsort, ini) for one name; any part may be empty."""
    family, given, full = simplified(family), simplified(given), simplified(full)
    text = full or (family + given if _CJK.search(family + given) else f"{given} {family}".strip())
    if not text:
        return (None,) * 6
    if _CJK.search(text):
        text = "".join(text.split()).replace("·", "").replace("•", "")
        if family and text.startswith(family):
            cut = len(family)
        else:
            cut = 2 if text[:2] in COMPOUND_SURNAMES or text[:2] in SURNAME_READINGS else 1
        surname, rest = text[:cut], text[cut:]
        if surname in SURNAME_READINGS:
            sn = SURNAME_READINGS[surname]
            s_syll = [sn] if len(surname) == 1 else [char_pinyin(c) for c in surname]
        else:
            s_syll = [char_pinyin(c) for c in surname]
            sn = "".join(s_syll)
        g_syll = [char_pinyin(c) for c in rest]
        gpy = "".join(g_syll)
        ini = "".join(s[:1] for s in s_syll + g_syll if s)
        nsort = sn + "|" + " ".join(sorted(g_syll))
        return text, sn or None, sn + gpy, gpy or None, nsort, ini
    # Latin script: the family name is the "surname"; without one, the last word.
    words = _latin(text).split()
    if not words:
        return (None,) * 6
    fam = _latin(family) if family else words[-1]
    giv = (
        _latin(given) if given else " ".join(w for w in words if w != fam) if family else " ".join(words[:-1])
    )
    sn = fam.replace(" ", "")
    gpy = giv.replace(" ", "")
    nm = " ".join(words)
    ini = "".join(w[0] for w in words)
    nsort = " ".join(sorted(words))
    return nm, sn or None, "".join(words), gpy or None, nsort, ini


@lru_cache(maxsize=200_000)
def parse_date(value: str) -> str | None:
    """YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD (also YYYY.MM.DD) → 'YYYY-MM-DD'; raises FeatureError if not a date."""
    m = _DATE.match(value)
    if not m or (not any(s in value for s in "-/.") and len(value.strip()) != 8):
        raise FeatureError(f"“{value}” is not a date (YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)")
    try:
        return datetime.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        raise FeatureError(f"“{value}” is not a valid calendar date") from None


@lru_cache(maxsize=1_000_000)
def _valid_id(value: str) -> str | None:
    try:
        return validate_id_number(value)
    except ValueError:
        return None


@lru_cache(maxsize=200_000)
def _guardians(value: str) -> str | None:
    keys = set()
    for part in GUARDIAN_SEPARATORS.split(value):
        if part.strip():
            py = name_features("", "", part.strip())[2]
            if py:
                keys.add(py)
    return "|".join(sorted(keys)) or None


def _text_key(value: str) -> str | None:
    value = simplified(value)
    key = "".join(value.split()).lower() if _CJK.search(value) else _latin(value)
    return key or None


def _phone(value: str) -> str | None:
    digits = "".join(c for c in value if c.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits[-11:] if len(digits) >= 6 else None


def _map(series: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` to each distinct non-blank string once; blanks become None."""
    values = series.astype("string").str.strip().fillna("")
    uniques = pd.unique(values)
    table = {u: (fn(u) if u else None) for u in uniques}
    return values.map(table).astype(object)


def build_features(df: pd.DataFrame, *, strict_dates: bool = True) -> pd.DataFrame:
    """Records (``unique_id`` + role columns) → the :data:`FEATURES` table.

    With ``strict_dates`` a birth date that cannot be read raises :class:`FeatureError` naming the
    first such value; otherwise it becomes null.
    """
    n = len(df)
    out = pd.DataFrame({"unique_id": df["unique_id"].astype("string").astype(object)})

    def col(role):
        if role in df.columns:
            return df[role].astype("string").str.strip().fillna("")
        return pd.Series([""] * n, index=df.index, dtype="string")

    full, family, given = col("full_name"), col("family_name"), col("given_name")
    keys = pd.Series(list(zip(family, given, full, strict=True)), index=df.index)
    uniques = pd.unique(keys)
    table = {k: name_features(*k) for k in uniques}
    named = pd.DataFrame(
        keys.map(table).tolist(), index=df.index, columns=["nm", "sn", "py", "gpy", "nsort", "ini"]
    )
    for c in named.columns:
        out[c] = named[c].astype(object)

    def date(value):
        try:
            return parse_date(value)
        except FeatureError:
            if strict_dates:
                raise
            return None

    out["dob"] = _map(col("birth_date"), date)
    out["sex"] = _map(col("sex"), lambda v: _SEX.get(v.lower()))
    ids = col("id_number")
    out["idk"] = _map(ids, _valid_id)
    out["idr"] = _map(ids, lambda v: normalise_id_number(v) or None)
    out["idf"] = _map(col("identifier"), lambda v: "".join(c for c in v.upper() if c.isalnum()) or None)
    out["addr"] = _map(col("address"), _text_key)
    out["loc"] = _map(col("locality"), _text_key)
    out["pc"] = _map(col("postcode"), lambda v: "".join(v.upper().split()) or None)
    out["reg"] = _map(col("region"), _text_key)
    out["ph"] = _map(col("phone"), _phone)
    out["gd"] = _map(col("guardian_name"), _guardians)
    return out
