"""The registry's linkage features, kept between calls and refreshed only for the persons that changed.

Building the features of every person costs ~11 s per 3 million persons plus reading them from the database;
linking a daily batch of 50,000 must take under 10 s (issue 4 §6). So the features of all current persons are
kept in Arrow (feather, lz4) files (``LINKAGE_CACHE_DIR``; the file name carries the feature version and the
database), with the time the refresh started: a base file, and a delta file of the rows read since the base was
written (with the base rows they replace or remove, and the base's token — a delta of another base is ignored).
A refresh writes only the delta; once it holds ``COMPACT_FRACTION`` of the rows the whole table becomes the new
base. Each file is replaced atomically and carries a new token; the process keeps what it read (``_memo``) and
reads a file again only when its token changed (another process wrote it). The table held is the base's chunks
followed by the delta's, with a mask of the current rows: removing the replaced rows would copy every string of
millions of rows on each call, so the engine skips them instead (``registry_rows``, ``link(right_live=…)``).
A refresh re-reads from the database only the persons whose linkage inputs
may have changed since then, less ``MARGIN`` (transactions that were still open when the refresh read):

* persons whose ``updated`` is newer (``save_person``; new persons from feeds);
* persons with an identity document or a guardianship created since, or whose guardian's record changed;
* both persons of a merge or a split made since (merges move documents and guardianships, the absorbed person
  leaves the registry, a split brings it back).

If the number of cached persons then differs from the registry's (a person deleted or changed behind the
services' back), the cache is rebuilt. ``refresh(rebuild=True)`` (``manage.py
relink --rebuild-features``) starts over; a change to the engine's features changes ``FEATURE_VERSION`` and so
the file name. Street names are read through the person's street: renaming a street needs a rebuild.

The cache holds no ID number in clear (the exact key ``idk`` is the blind index, as in the database), but it
does hold person data in clear — names, pinyin, birth dates, addresses, phones, guardians' names, sensitive
persons included — like the database itself. It is written owner-only (directory 0700, file 0600) and belongs on
the same protected disk as the database; it is never served and never read outside the linkage engine. The
process that links (the task worker) keeps the table in its memory between calls (~1.4 GB at 3 million persons).
"""

import contextlib
import dataclasses
import datetime
import hashlib
import os
import threading
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from pyarrow import feather

from weibao.lib.bulk import IdSet

from .linkage import FEATURES
from .linkage.model import MODEL_FORMAT
from .models import Guardianship, IdentityDocument, MergeRecord, Person

_FEATURE_SPEC = f"{MODEL_FORMAT}|{','.join(FEATURES)}|idk=blind-index"
FEATURE_VERSION = hashlib.sha256(_FEATURE_SPEC.encode()).hexdigest()[:12]
MARGIN = datetime.timedelta(minutes=15)
# the delta file is folded into a new base file once it holds this share of the registry's rows (and at least
# COMPACT_MIN rows: below that, rewriting either file costs little)
COMPACT_FRACTION = 0.1
COMPACT_MIN = 10_000
_BUILT_AT = b"weibao.built_at"
_TOKEN = b"weibao.token"  # a new one per file written: what the in-process copy and a delta refer to
_BASE = b"weibao.base"  # delta: the token of the base file it applies to
_REMOVED = b"weibao.removed"  # delta: the base rows' pks it drops (int64, native order)
# large strings: what pandas' Arrow strings hold, so handing the table to the engine copies nothing
SCHEMA = pa.schema([pa.field("pk", pa.int64()), *(pa.field(name, pa.large_string()) for name in FEATURES)])
_lock = threading.Lock()
_memo: dict[str, "_State"] = {}


def cache_path() -> Path:
    db = settings.DATABASES["default"]
    where = hashlib.sha256(f"{db.get('HOST')}|{db.get('PORT')}|{db['NAME']}".encode()).hexdigest()[:12]
    return Path(settings.LINKAGE_CACHE_DIR) / f"features-{FEATURE_VERSION}-{where}.arrow"


def delta_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.delta.arrow")


@dataclasses.dataclass
class _File:
    built_at: datetime.datetime
    token: str
    metadata: dict
    table: pa.Table | None  # None: the caller already holds it (the token it knew)


@dataclasses.dataclass
class _State:
    """What the files say, as held in this process: the base file's table, the delta's rows and removed pks,
    and the two together: ``table`` (the base's chunks then the delta's: no copy) of which the rows ``live``
    are current (None: all) — the base rows the delta replaces or removes stay in ``table``, not ``live``."""

    base_token: str
    base: pa.Table
    delta_token: str | None
    rows: pa.Table
    removed: np.ndarray
    table: pa.Table
    live: np.ndarray | None
    built_at: datetime.datetime

    @property
    def live_rows(self) -> int:
        return self.table.num_rows if self.live is None else int(self.live.sum())

    def current(self) -> pa.Table:
        """The current rows only (a copy of every string when some rows are not live)."""
        return self.table if self.live is None else self.table.filter(pa.array(self.live))


def _state(base_token, base, delta_token, rows, removed, built_at) -> _State:
    """The base with the delta (``rows``, ``removed``) applied."""
    rows = rows.replace_schema_metadata(None)
    drop = np.union1d(removed, rows.column("pk").to_numpy())
    stale = pc.is_in(base.column("pk"), value_set=pa.array(drop, type=pa.int64())).to_numpy(
        zero_copy_only=False
    )
    live = np.concatenate([~stale, np.ones(rows.num_rows, dtype=bool)]) if stale.any() else None
    table = pa.concat_tables([base, rows]) if rows.num_rows else base
    return _State(base_token, base, delta_token, rows, removed, table, live, built_at)


def _read(path: Path, *, known: str | None = None) -> _File | None:
    """The file's table and metadata, or None if it is missing, unreadable or not ours; the table is not read
    (``table`` None) when its token is ``known``."""
    try:
        with pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_file(source)
            metadata = reader.schema.metadata or {}
            built_at = datetime.datetime.fromisoformat(metadata[_BUILT_AT].decode())
            # a file written before tokens: its build time stands for one (no rebuild on upgrading)
            token = metadata.get(_TOKEN, b"built:" + metadata[_BUILT_AT]).decode()
            if reader.schema.names != SCHEMA.names or built_at > timezone.now():
                return None
            table = None if token == known else reader.read_all()
    except (OSError, KeyError, ValueError, TypeError, AttributeError, pa.ArrowException):
        return None
    if table is not None and not table.schema.equals(SCHEMA):
        table = table.cast(SCHEMA)  # a file written before the columns were large strings
    return _File(built_at, token, metadata, table)


def _write(path: Path, table: pa.Table, built_at: datetime.datetime, metadata: dict | None = None) -> str:
    """Write the file atomically (a concurrent reader sees the old file or the new one); returns its token."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    token = uuid.uuid4().hex
    meta = {_BUILT_AT: built_at.isoformat().encode(), _TOKEN: token.encode()}
    meta.update(metadata or {})
    table = table.replace_schema_metadata(meta)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{token[:8]}.tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    feather.write_feather(table, tmp, compression="lz4")
    tmp.replace(path)
    return token


def _table(features: pd.DataFrame) -> pa.Table:
    pk = pa.array(features["unique_id"].astype("int64").to_numpy(), type=pa.int64())
    table = pa.Table.from_pandas(features[list(FEATURES)], preserve_index=False)
    # the same schema whichever rows came in (an all-null column would otherwise be typed null)
    return table.add_column(0, "pk", pk).cast(SCHEMA).replace_schema_metadata(None)


def _without(table: pa.Table, pks) -> pa.Table:
    """``table`` without the rows of ``pks`` (the table itself if it has none: a filter copies every string)."""
    if not len(pks) or not table.num_rows:
        return table
    stale = pc.is_in(table.column("pk"), value_set=pa.array(pks, type=pa.int64()))
    return table.filter(pc.invert(stale)) if pc.any(stale).as_py() else table


def _current(path: Path) -> _State | None:
    """The cached features as the files are now: the base file with its delta applied (a delta written for
    another base — one replaced since by a compaction — is ignored). What this process read before is not read
    again: the in-process copy is used while the files' tokens are the same."""
    memo = _memo.get(str(path))
    base = _read(path, known=memo.base_token if memo else None)
    if base is None:
        return None
    if base.table is None:
        base_table = memo.base
    else:
        memo, base_table = None, base.table
    state = _state(base.token, base_table, None, _empty(), np.empty(0, np.int64), base.built_at)
    delta = _read(delta_path(path), known=memo.delta_token if memo else None)
    if (
        delta is not None
        and delta.metadata.get(_BASE) == base.token.encode()
        and delta.built_at >= base.built_at
    ):
        if delta.table is None:
            state = memo
        else:
            removed = np.frombuffer(delta.metadata[_REMOVED], dtype=np.int64)
            state = _state(base.token, base_table, delta.token, delta.table, removed, delta.built_at)
    _memo[str(path)] = state
    return state


def _changed_since(since) -> Q:
    """Persons whose linkage inputs may have changed at or after ``since``."""
    merges = MergeRecord.objects.filter(Q(merged_at__gte=since) | Q(split_at__gte=since))
    return (
        Q(updated__gte=since)
        | Q(pk__in=IdentityDocument.objects.filter(created__gte=since).values("person_id"))
        | Q(pk__in=Guardianship.objects.filter(created__gte=since).values("minor_id"))
        | Q(pk__in=Guardianship.objects.filter(guardian__updated__gte=since).values("minor_id"))
        | Q(pk__in=merges.values("survivor_id"))
        | Q(pk__in=merges.values("absorbed_id"))
    )


@contextlib.contextmanager
def _without_jit():
    """PostgreSQL's JIT off for the reads inside (one transaction; the setting as before afterwards). The feature
    query's cost estimate passes ``jit_above_cost`` once the registry has statistics, and compiling it took
    ~0.7 s for a query that runs in ~0.5 s (50,000 changed persons among 300,000)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
            before = cursor.fetchone()[0]
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('jit', %s, true)", [before])


def refresh(*, rebuild: bool = False) -> tuple[pa.Table, dict]:
    """The cache brought up to date: (table of pk + features, what it did: persons read from the database,
    rows kept from the cache)."""
    state, done = _refreshed(rebuild=rebuild)
    return state.current(), done


def _refreshed(*, rebuild: bool) -> tuple[_State, dict]:
    with _lock, _without_jit():
        return _refresh(rebuild=rebuild)


def _refresh(*, rebuild: bool) -> tuple[_State, dict]:
    from .linking import person_features

    path = cache_path()
    started = timezone.now()
    state = None if rebuild else _current(path)
    if state is not None:
        changed = Person.all_objects.filter(_changed_since(state.built_at - MARGIN)).order_by()
        drop = np.fromiter(changed.values_list("pk", flat=True), dtype=np.int64)
        with IdSet(drop.tolist()) as ids:
            parts = [_table(person_features(Person.objects.filter(q))) for q in ids.filters("pk")]
        fresh = pa.concat_tables(parts) if parts else _empty()
        if len(drop) or fresh.num_rows:
            rows = pa.concat_tables([_without(state.rows, drop), fresh])
            removed = np.union1d(state.removed, drop)
            state = _state(state.base_token, state.base, None, rows, removed, started)
        if state.live_rows == Person.objects.count():
            if len(drop) or fresh.num_rows:
                state = _save(path, state)
            done = {"rebuilt": False, "read": fresh.num_rows, "kept": state.live_rows - fresh.num_rows}
            return state, done
    # no cache, another version, or persons changed behind the services' back (the counts differ): start over
    table = _table(person_features(Person.objects.all()))
    return _save_base(path, table, started), {"rebuilt": True, "read": table.num_rows, "kept": 0}


def _empty() -> pa.Table:
    return SCHEMA.empty_table()


def _save(path, state: _State) -> _State:
    """Keep ``state`` (its delta not written yet): as a new delta of the same base file — the rows read since
    the base was written, and the base rows they replace or remove — or, once that delta holds
    ``COMPACT_FRACTION`` of the rows, as a new base file."""
    if state.rows.num_rows + len(state.removed) > max(COMPACT_FRACTION * state.live_rows, COMPACT_MIN):
        return _save_base(path, state.current(), state.built_at)
    metadata = {_BASE: state.base_token.encode(), _REMOVED: state.removed.tobytes()}
    state.delta_token = _write(delta_path(path), state.rows, state.built_at, metadata)
    _memo[str(path)] = state
    return state


def _save_base(path, table, built_at) -> _State:
    token = _write(path, table, built_at)
    delta_path(path).unlink(missing_ok=True)  # written for the old base: it would be ignored anyway
    state = _memo[str(path)] = _state(token, table, None, _empty(), np.empty(0, np.int64), built_at)
    return state


def registry_features(*, rebuild: bool = False) -> pd.DataFrame:
    """The features of every current person (the cache, refreshed first), as ``build_features`` returns them."""
    table, _ = refresh(rebuild=rebuild)
    return to_pandas(table)


def registry_rows() -> tuple[pd.DataFrame, np.ndarray | None]:
    """The cache, refreshed, without a copy: (every row held, as ``registry_features`` returns them — older
    versions of changed persons and persons who left included —, which of them are current, None: all). For
    the engine's ``right_live``: filtering millions of rows copies every string (~1.5 s at 3 million)."""
    state, _ = _refreshed(rebuild=False)
    return to_pandas(state.table), state.live


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """The features (without ``pk``) as ``build_features`` returns them: Arrow strings, no copy."""
    return table.drop_columns(["pk"]).to_pandas(
        types_mapper={pa.large_string(): pd.StringDtype("pyarrow")}.get
    )
