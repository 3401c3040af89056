"""The linkage engine: exact on valid ID numbers, probabilistic (Splink on DuckDB) for the rest, the
"two different valid IDs never link by themselves" rule, thresholds and clusters.

Tables in, tables out (pandas); no database, no Django. See ``link`` for the one entry point and
``LinkResult`` for what comes back. The registry wiring decides what to do with ``decision``:
``link`` (auto-link), ``review`` (queue) — and every record of the left side that has no ``link`` pair
becomes a new person.
"""

import logging
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from splink.internals.exceptions import SplinkException

from .features import build_features
from .model import (
    MIN_RECORDS_TO_TRAIN,
    TRAINING_BLOCKING_RULES,
    Model,
    connect,
    floor_m,
    quiet_splink,
    settings,
)

# Defaults chosen with `bench/linkage.py quality` (docs/PERFORMANCE.md, "Record linkage"): 0.95 gives the
# best F1 with 80 % IDs (0.992; 0.99 loses recall: 0.988) and precision ≥ 0.987 without IDs (F1 0.976);
# pairs in [0.5, 0.95) — the review queue — are 1–2.5 % of the pairs (301 / 788 for 44,000 records), 19 % /
# 41 % of them true, worth a human look; below 0.5 almost none are true.
UPPER_THRESHOLD = 0.95
LOWER_THRESHOLD = 0.5

logger = logging.getLogger(__name__)

EXACT = "exact_id"
PROBABILISTIC = "model"
LINK, REVIEW = "link", "review"


@dataclass
class LinkResult:
    """``pairs``: left_id, right_id, match_probability, match_weight, method, decision, both_ids_differ.
    ``clusters``: side ("left"/"right"), record_id, cluster_id — connected components of the ``link`` pairs
    as ``link`` returned them (every record appears, singletons included), computed on first use: over a
    registry of millions they cost seconds, and the registry wiring does not use them. ``timings``: seconds
    per phase."""

    pairs: pd.DataFrame
    model: Model
    timings: dict = field(default_factory=dict)
    # (left ids, right ids or None, the link pairs, which right rows took part or None) for ``clusters``
    cluster_inputs: tuple | None = field(default=None, repr=False)
    _clusters: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def clusters(self) -> pd.DataFrame:
        if self._clusters is None:
            left_ids, right_ids, links, right_live = self.cluster_inputs
            if right_live is not None:
                right_ids = right_ids[right_live]
            self._clusters = clusters(left_ids, right_ids, links)
            self.cluster_inputs = None
        return self._clusters

    def links(self) -> pd.DataFrame:
        return self.pairs[self.pairs["decision"] == LINK]

    def reviews(self) -> pd.DataFrame:
        return self.pairs[self.pairs["decision"] == REVIEW]


def _arrow(df):
    """A feature table as an Arrow table for DuckDB: zero-copy for the Arrow-backed columns of
    ``build_features`` (object columns are converted once instead of on every DuckDB scan)."""
    if isinstance(df, pd.DataFrame):
        return pa.Table.from_pandas(df, preserve_index=False)
    return df


def _numbered(df) -> tuple[pa.Table, pa.ChunkedArray]:
    """(the table with ``unique_id`` replaced by row numbers, the original ids in row order)."""
    table = _arrow(df)
    i = table.schema.get_field_index("unique_id")
    ids = table.column(i)
    return table.set_column(i, "unique_id", pa.array(np.arange(len(table), dtype=np.int64))), ids


def _with_ids(df: pd.DataFrame, id_column: str) -> pd.DataFrame:
    if id_column != "unique_id":
        df = df.rename(columns={id_column: "unique_id"})
    return df


def train(
    left: pd.DataFrame,
    right: pd.DataFrame | None = None,
    *,
    u_pairs: float = 2e6,
    em_pairs: float | None = 2e6,
    seed: int = 42,
    con=None,
    version: str = "",
    max_records: int | None = 1_000_000,
) -> Model:
    """Train a model on feature tables (from ``build_features``) without labels.

    u from random sampling (``u_pairs`` pairs), the prior from deterministic rules (same valid ID; same
    pinyin and birth date) at an assumed recall of 0.7, m by EM on two blocking rules that each leave the
    other fields free.

    Above ``max_records`` records in all, training reads the same random share of each table: u, the
    prior (deterministic matches over all comparisons) and m are all proportions, which a sample estimates
    as well as the whole, and the cost of training stops growing with the registry."""
    from splink import DuckDBAPI, Linker

    quiet_splink()
    total = len(left) + (len(right) if right is not None else 0)
    if max_records and total > max_records:
        share = max_records / total
        left = left.sample(frac=share, random_state=seed)
        right = right.sample(frac=share, random_state=seed + 1) if right is not None else None
    con = con or connect()
    api = DuckDBAPI(connection=con)
    tables = [api.register(_arrow(left), table_name="__train_left")]
    if right is not None:
        tables.append(api.register(_arrow(right), table_name="__train_right"))
    link_type = "link_only" if right is not None else "dedupe_only"
    n = len(left) + (len(right) if right is not None else 0)
    base = settings(link_type)
    if n < MIN_RECORDS_TO_TRAIN:
        # Too few records to sample non-matches or run EM: the prior m/u values, and a prior that about
        # one record in ten has a duplicate among the others.
        base["probability_two_random_records_match"] = min(0.5, 0.1 / max(n - 1, 1))
        base["linker_uid"] = version or "prior"
        return Model(floor_m(base), version=version or "prior")
    linker = Linker(tables if right is not None else tables[0], base, log_level=None)
    try:
        linker.training.estimate_probability_two_random_records_match(
            ['l."idk" = r."idk"', 'l."py" = r."py" AND l."dob" = r."dob"'], recall=0.7
        )
    except (SplinkException, ZeroDivisionError) as exc:
        logger.info("prior not estimated: %s", exc)
    # A registry without any duplicate yet estimates a prior of 0 (or 1 on degenerate data), which has no
    # match weight; keep it strictly between, at least one duplicate per hundred thousand pairs.
    prior = linker._settings_obj._probability_two_random_records_match
    if not 0 < prior < 1:
        linker._settings_obj._probability_two_random_records_match = min(max(prior, 1e-5), 0.5)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    sample = min(1.0, max(0.01, 100_000 / max(n, 1)))
    for rule in TRAINING_BLOCKING_RULES:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule,
                estimate_without_term_frequencies=True,
                max_pairs=em_pairs,
                record_sample_proportion=sample,
            )
        except (SplinkException, ZeroDivisionError) as exc:  # too few pairs: keep the prior m values
            logger.info("EM session %s skipped: %s", rule, exc)
    trained = floor_m(linker.misc.save_model_to_json())
    linker.table_management.delete_tables_created_by_splink_from_db()
    for name in ("__train_left", "__train_right"):
        if right is not None or name == "__train_left":
            api.delete_table_from_database(name)
    return Model(trained, version=version or trained.get("linker_uid", ""))


def predict(
    model: Model,
    left: pd.DataFrame,
    right: pd.DataFrame | None = None,
    *,
    lower: float = LOWER_THRESHOLD,
    con=None,
    right_live: np.ndarray | None = None,
) -> pd.DataFrame:
    """Score candidate pairs (feature tables in) at or above ``lower``; returns left_id, right_id,
    match_probability, match_weight, idk_l, idk_r and one ``mw_<comparison>`` match weight per field.
    ``right_live``: which rows of ``right`` take part (the others are skipped in DuckDB, not copied out)."""
    from splink import DuckDBAPI, Linker

    quiet_splink()
    con = con or connect()
    api = DuckDBAPI(connection=con)
    link_type = "link_only" if right is not None else "dedupe_only"
    tag = uuid.uuid4().hex[:8]
    names = (f"__left_{tag}", f"__right_{tag}")
    # Splink joins candidate pairs back to the records on unique_id: row numbers join faster and take less
    # memory than the callers' string ids, which are put back on the (few) pairs above ``lower``.
    lt, left_ids = _numbered(left)
    tl = api.register(lt, table_name=names[0])
    raw = None
    if right is not None:
        rt, right_ids = _numbered(right)
        if right_live is None:
            inputs = [tl, api.register(rt, table_name=names[1])]
        else:  # a view of the live rows, numbered as in ``right`` (so ``right_ids`` maps them back)
            raw = f"__raw_{tag}"
            con.register(raw, rt.append_column("__live", pa.array(right_live, type=pa.bool_())))
            view = f"CREATE VIEW {names[1]} AS SELECT * EXCLUDE (__live) FROM {raw} WHERE __live"  # noqa: S608
            con.execute(view)
            inputs = [tl, api.register(names[1], table_name=names[1])]
    else:
        right_ids, inputs = left_ids, tl
    linker = Linker(inputs, model.for_link_type(link_type), log_level=None)
    df = linker.inference.predict(threshold_match_probability=lower)
    rel = df.as_duckdbpyrelation()
    if right is not None:
        sql = f"""SELECT CASE WHEN source_dataset_l = '{names[0]}' THEN unique_id_l ELSE unique_id_r END AS left_id,
                      CASE WHEN source_dataset_l = '{names[0]}' THEN unique_id_r ELSE unique_id_l END AS right_id,
                      match_probability, match_weight, idk_l, idk_r, COLUMNS('^mw_') FROM p"""  # noqa: S608 — names are ours
    else:
        sql = (
            "SELECT unique_id_l AS left_id, unique_id_r AS right_id, match_probability, match_weight, idk_l, idk_r, "
            "COLUMNS('^mw_') FROM p"
        )
    scored = rel.query("p", sql).to_arrow_table()
    out = scored.to_pandas()
    out["left_id"] = left_ids.take(scored.column("left_id")).to_pandas().astype(object)
    out["right_id"] = right_ids.take(scored.column("right_id")).to_pandas().astype(object)
    linker.table_management.delete_tables_created_by_splink_from_db()
    for name in names:
        api.delete_table_from_database(name)
    if raw:
        con.unregister(raw)
    return out


def exact_pairs(
    left: pd.DataFrame, right: pd.DataFrame | None = None, *, con=None, right_live: np.ndarray | None = None
) -> pd.DataFrame:
    """Pairs with the same valid ID number (``idk``); in dedupe mode each unordered pair once. ``right_live``:
    which rows of ``right`` take part."""
    con = con or connect()
    con.register("__el", _arrow(left[["unique_id", "idk"]]))
    if right is None:
        sql = (
            "SELECT l.unique_id AS left_id, r.unique_id AS right_id FROM __el l JOIN __el r "
            "ON l.idk = r.idk AND l.unique_id < r.unique_id WHERE l.idk IS NOT NULL"
        )
    else:
        er = _arrow(right[["unique_id", "idk"]])
        live = np.ones(len(er), dtype=bool) if right_live is None else right_live
        con.register("__er", er.append_column("__live", pa.array(live, type=pa.bool_())))
        sql = (
            "SELECT l.unique_id AS left_id, r.unique_id AS right_id FROM __el l JOIN __er r "
            "ON l.idk = r.idk WHERE l.idk IS NOT NULL AND r.__live"
        )
    out = con.execute(sql).df()
    con.unregister("__el")
    if right is not None:
        con.unregister("__er")
    return out


def decide(
    scored: pd.DataFrame, exact: pd.DataFrame, *, upper: float = UPPER_THRESHOLD, dedupe: bool = False
) -> pd.DataFrame:
    """Combine exact and model pairs and apply the thresholds and the different-valid-IDs rule."""
    scored = scored.copy()
    scored["both_ids_differ"] = (
        scored["idk_l"].notna() & scored["idk_r"].notna() & (scored["idk_l"] != scored["idk_r"])
    )
    scored["method"] = PROBABILISTIC
    exact = exact.assign(match_probability=1.0, match_weight=np.inf, method=EXACT, both_ids_differ=False)
    cols = ["left_id", "right_id", "match_probability", "match_weight", "method", "both_ids_differ"]
    factors = [c for c in scored.columns if c.startswith("mw_")]  # per-field match weights, when present
    both = pd.concat([exact[cols], scored[cols + factors]], ignore_index=True)
    if dedupe:  # order each pair so exact and model rows of the same pair coincide
        swap = both["left_id"] > both["right_id"]
        both.loc[swap, ["left_id", "right_id"]] = both.loc[swap, ["right_id", "left_id"]].to_numpy()
    both = both.drop_duplicates(["left_id", "right_id"], keep="first")  # exact wins
    # Two valid, different ID numbers: never linked by the model alone (twins) — at most a review.
    auto = (both["match_probability"] >= upper) & ~both["both_ids_differ"]
    both["decision"] = np.where(auto, LINK, REVIEW)
    return both.reset_index(drop=True)


def clusters(left_ids, right_ids, links: pd.DataFrame) -> pd.DataFrame:
    """Connected components of the link pairs over all records (vectorised label propagation)."""
    sides = ["left"] * len(left_ids) + (["right"] * len(right_ids) if right_ids is not None else [])
    ids = list(left_ids) + (list(right_ids) if right_ids is not None else [])
    n_left = len(left_ids)
    left_index = pd.Index(left_ids)
    right_index = pd.Index(right_ids) if right_ids is not None else left_index
    a = left_index.get_indexer(links["left_id"])
    b = right_index.get_indexer(links["right_id"]) + (n_left if right_ids is not None else 0)
    labels = np.arange(len(ids))
    if len(a):
        while True:
            m = np.minimum(labels[a], labels[b])
            before = labels.copy()
            np.minimum.at(labels, a, m)
            np.minimum.at(labels, b, m)
            labels = labels[labels]  # pointer jumping
            if np.array_equal(labels, before):
                break
    _, cluster = np.unique(labels, return_inverse=True)
    return pd.DataFrame({"side": sides, "record_id": ids, "cluster_id": cluster + 1})


def link(
    left: pd.DataFrame,
    right: pd.DataFrame | None = None,
    *,
    model: Model | None = None,
    upper: float = UPPER_THRESHOLD,
    lower: float = LOWER_THRESHOLD,
    id_column: str = "unique_id",
    features_ready: bool = False,
    u_pairs: float = 2e6,
    em_pairs: float | None = 2e6,
    threads: int | None = None,
    memory_limit: str | None = None,
    right_live: np.ndarray | None = None,
) -> LinkResult:
    """Link ``left`` to ``right`` (or de-duplicate ``left`` when ``right`` is None).

    Inputs are records with ``id_column`` and role columns (see ``features.ROLES``), or feature tables
    when ``features_ready``. Without ``model`` one is trained on these very tables (on a sample of them
    above a million records, see ``train``). ``memory_limit`` (e.g. "4GB") caps DuckDB, which spills to
    disk beyond it. ``unique_id`` values must be unique within each table — among the rows that take part:
    ``right_live`` (with ``right``, ``features_ready`` and a ``model``) marks which rows of ``right`` do; the
    others (e.g. older versions of a row, see ``feature_cache``) are skipped without copying the table."""
    if right_live is not None and (right is None or model is None or not features_ready):
        raise ValueError("right_live needs right, a model and feature tables")
    timings = {}
    t = time.perf_counter()
    if features_ready:
        lf, rf = left, right
    else:
        lf = build_features(_with_ids(left, id_column))
        rf = build_features(_with_ids(right, id_column)) if right is not None else None
    timings["features"] = time.perf_counter() - t
    con = connect(threads=threads, memory_limit=memory_limit)
    if model is None:
        t = time.perf_counter()
        model = train(lf, rf, u_pairs=u_pairs, em_pairs=em_pairs, con=con)
        timings["train"] = time.perf_counter() - t
    t = time.perf_counter()
    exact = exact_pairs(lf, rf, con=con, right_live=right_live)
    timings["exact"] = time.perf_counter() - t
    t = time.perf_counter()
    scored = predict(model, lf, rf, lower=lower, con=con, right_live=right_live)
    timings["predict"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = decide(scored, exact, upper=upper, dedupe=right is None)
    timings["decide"] = time.perf_counter() - t
    con.close()
    right_ids = rf["unique_id"] if rf is not None else None
    inputs = (lf["unique_id"], right_ids, pairs[pairs["decision"] == LINK], right_live)
    return LinkResult(pairs=pairs, model=model, timings=timings, cluster_inputs=inputs)
