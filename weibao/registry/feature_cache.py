"""The registry's linkage features, kept between calls and refreshed only for the persons that changed.

Building the features of every person costs ~11 s per 3 million persons plus reading them from the database;
linking a daily batch of 50,000 must take under 10 s (issue 4 §6). So the features of all current persons are
kept in one Arrow (feather, lz4) file (``LINKAGE_CACHE_DIR``; the file name carries the feature version and the database),
with the time the refresh started. A refresh re-reads from the database only the persons whose linkage inputs
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
the same protected disk as the database; it is never served and never read outside the linkage engine.
"""

import contextlib
import datetime
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from pyarrow import feather

from .linkage import FEATURES
from .linkage.model import MODEL_FORMAT
from .models import Guardianship, IdentityDocument, MergeRecord, Person

_FEATURE_SPEC = f"{MODEL_FORMAT}|{','.join(FEATURES)}|idk=blind-index"
FEATURE_VERSION = hashlib.sha256(_FEATURE_SPEC.encode()).hexdigest()[:12]
MARGIN = datetime.timedelta(minutes=15)
_BUILT_AT = b"weibao.built_at"


def cache_path() -> Path:
    db = settings.DATABASES["default"]
    where = hashlib.sha256(f"{db.get('HOST')}|{db.get('PORT')}|{db['NAME']}".encode()).hexdigest()[:12]
    return Path(settings.LINKAGE_CACHE_DIR) / f"features-{FEATURE_VERSION}-{where}.arrow"


def _read(path: Path) -> tuple[pa.Table, datetime.datetime] | None:
    try:
        table = feather.read_table(path, memory_map=True)
        built_at = datetime.datetime.fromisoformat(table.schema.metadata[_BUILT_AT].decode())
    except (OSError, KeyError, ValueError, TypeError, AttributeError, pa.ArrowException):
        return None
    if list(table.column_names) != ["pk", *FEATURES] or built_at > timezone.now():
        return None
    return table, built_at


def _write(path: Path, table: pa.Table, built_at: datetime.datetime) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    table = table.replace_schema_metadata({_BUILT_AT: built_at.isoformat().encode()})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    feather.write_feather(table, tmp, compression="lz4")
    tmp.replace(path)  # atomic: a concurrent reader sees the old file or the new one


def _table(features: pd.DataFrame) -> pa.Table:
    pk = pa.array(features["unique_id"].astype("int64").to_numpy(), type=pa.int64())
    table = pa.Table.from_pandas(features[list(FEATURES)], preserve_index=False)
    # the same schema whichever rows came in (an all-null column would otherwise be typed null)
    schema = pa.schema([pa.field(name, pa.string()) for name in FEATURES])
    return table.cast(schema).add_column(0, "pk", pk)


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
    with _without_jit():
        return _refresh(rebuild=rebuild)


def _refresh(*, rebuild: bool) -> tuple[pa.Table, dict]:
    from .linking import person_features

    path = cache_path()
    started = timezone.now()
    cached = None if rebuild else _read(path)
    if cached is not None:
        table, built_at = cached
        changed = Person.all_objects.filter(_changed_since(built_at - MARGIN))
        drop = np.fromiter(changed.values_list("pk", flat=True), dtype=np.int64)
        fresh = _table(person_features(Person.objects.filter(pk__in=changed.values("pk"))))
        stale = np.isin(table.column("pk").to_numpy(), drop)
        kept = table.filter(pa.array(~stale)) if stale.any() else table  # a filter copies every string
        table = pa.concat_tables([kept, fresh])
        if table.num_rows == Person.objects.count():
            if len(drop) or fresh.num_rows:
                _write(path, table, started)
            return table, {"rebuilt": False, "read": fresh.num_rows, "kept": kept.num_rows}
    # no cache, another version, or persons changed behind the services' back (the counts differ): start over
    table = _table(person_features(Person.objects.all()))
    _write(path, table, started)
    return table, {"rebuilt": True, "read": table.num_rows, "kept": 0}


def registry_features(*, rebuild: bool = False) -> pd.DataFrame:
    """The features of every current person (the cache, refreshed first), as ``build_features`` returns them."""
    table, _ = refresh(rebuild=rebuild)
    return table.drop_columns(["pk"]).to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
