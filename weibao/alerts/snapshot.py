"""A consistent snapshot of what screening reads, loaded into an in-memory DuckDB connection.

PostgreSQL: one REPEATABLE READ, read-only transaction. The big tables (persons, events, guardianships) leave
PostgreSQL as a few rows of arrays (``array_agg`` per column, ``COPY … TO STDOUT (FORMAT binary)``) decoded in
bulk with NumPy: a plain COPY hands Python one message per table row, and at millions of rows that loop, not
PostgreSQL, was the cost. The small tables go as CSV parsed by Arrow. Never row by row through the ORM.
SQLite (development, demo scale): read through the DB-API cursor into Arrow.

Given the screening day and the rule definitions (``scope``), the snapshot holds only what their compiled SQL
can read (``conditions.reads``): minors only, the event types the rules name within the widest window each is
read over and never after the day, the categories named, current guardianships only. The SQL gives the same
answer over it as over every row (``test_snapshot_scope``).

A snapshot of some persons only (incremental screening) loads exactly those persons' rows: every rule
reads a person's own rows only, so the same SQL gives the same answer for them as the full snapshot.
"""

import datetime
import os
import struct
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection, transaction

from weibao.lib.bulk import id_in, is_postgres

from . import conditions

# name → DuckDB column types of the snapshot table (``persons`` also gets ``kind``, always 'minor': only
# minors are ever screened, so only minors are loaded)
SCHEMAS = {
    "persons": {"id": "BIGINT", "birth_date": "DATE"},
    "events": {"id": "BIGINT", "person_id": "BIGINT", "type_id": "BIGINT", "occurred_on": "DATE"},
    "event_types": {"id": "BIGINT", "code": "VARCHAR", "domain": "VARCHAR"},
    "person_categories": {"person_id": "BIGINT", "code": "VARCHAR", "since": "DATE", "until": "DATE"},
    "guardianships": {"minor_id": "BIGINT", "since": "DATE", "until": "DATE"},
}
TABLES = tuple(SCHEMAS)
# The big tables travel as arrays from PostgreSQL, one row of arrays per chunk of this (non-null) column.
ARRAYS = {"persons": "id", "events": "id", "guardianships": "minor_id"}
PERSON_COLUMN = {
    "persons": "id",
    "events": "person_id",
    "person_categories": "pc.person_id",
    "guardianships": "minor_id",
}
ARROW_TYPES = {"BIGINT": pa.int64(), "VARCHAR": pa.string(), "DATE": pa.date32()}
CHUNK_BITS = 22  # ≈ 4 M ids per row of arrays: far below PostgreSQL's 1 GB per value
PG_EPOCH = 10957  # PostgreSQL counts days from 2000-01-01, Arrow from 1970-01-01
NULL_DATE = 2**31 - 1  # 'infinity'::date on the wire: a NULL date sent inside an array


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that never downloads or auto-loads an extension, spilling (if ever)
    into a temporary directory, never the working one: the linkage engine's connection, shared."""
    from weibao.registry.linkage.model import connect as linkage_connect  # lazily: the package loads Splink

    return linkage_connect(threads)


# --- what to read ---------------------------------------------------------------------------------------


def _literal(day: datetime.date) -> str:
    return f"'{day.isoformat()}'"  # a date object's ISO text: compared as a date by PostgreSQL and SQLite


def _current(today, since="since", until="until") -> list[str]:
    if today is None:
        return []
    day = _literal(today)
    return [f"({since} IS NULL OR {since} <= {day})", f"({until} IS NULL OR {until} >= {day})"]


def _event_filter(today, reads, types) -> list[str]:
    """WHERE clauses: only the event types the rules read, each within its widest window, none after today."""
    if today is None:
        return []
    where = [f"occurred_on <= {_literal(today)}"]
    if reads is None:
        return where
    windows = reads["events"]
    groups = defaultdict(list)  # window in days (None: ever) → type ids
    for type_id, code, _domain in types:
        spans = [windows[key] for key in (conditions.ALL_TYPES, code) if key in windows]
        if spans:
            groups[None if None in spans else max(spans)].append(int(type_id))
    clauses = []
    for days, ids in sorted(groups.items(), key=lambda item: -1 if item[0] is None else item[0]):
        typed = f"event_type_id IN ({', '.join(str(i) for i in sorted(ids))})"
        if days is not None:
            typed += f" AND occurred_on > {_literal(today - datetime.timedelta(days=days))}"
        clauses.append(f"({typed})")
    where.append("(" + (" OR ".join(clauses) or "1 = 0") + ")")
    return where


def _queries(today, reads, types) -> dict[str, tuple[str, list[str]]]:
    """name → (SELECT …, WHERE clauses) over the Django tables."""
    persons = ["merged_into_id IS NULL", "kind = 'minor'"]
    if today is not None:  # a year to spare: the rules themselves decide "under 18 today"
        persons.append(
            f"(birth_date IS NULL OR birth_date >= {_literal(datetime.date(today.year - 19, 1, 1))})"
        )
    categories, guardianships = _current(today, "pc.since", "pc.until"), _current(today)
    if reads is not None:
        codes = sorted(reads["categories"])
        categories.append(
            f"c.code IN ({', '.join(conditions._code(c) for c in codes)})" if codes else "1 = 0"
        )
        if not reads["guardianships"]:
            guardianships.append("1 = 0")
    return {
        "persons": ("SELECT id, birth_date FROM registry_person", persons),
        "events": (
            "SELECT id, person_id, event_type_id AS type_id, occurred_on FROM feeds_event",
            _event_filter(today, reads, types),
        ),
        "event_types": ("SELECT id, code, domain FROM feeds_eventtype", []),
        "person_categories": (
            "SELECT pc.person_id, c.code, pc.since, pc.until FROM registry_personcategory pc "
            "JOIN registry_category c ON c.id = pc.category_id",
            categories,
        ),
        "guardianships": ("SELECT minor_id, since, until FROM registry_guardianship", guardianships),
    }


def _select(name: str, query: tuple[str, list[str]], ids) -> tuple[str, list]:
    sql, where = query
    where, params = list(where), []
    if ids is not None and name in PERSON_COLUMN:
        condition, params = id_in(PERSON_COLUMN[name], ids)
        where.append(condition)
    return (f"{sql} WHERE {' AND '.join(where)}" if where else sql), params


# --- how to read it -------------------------------------------------------------------------------------


def _from_rows(types: dict, rows: list) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in types]
    arrays = []
    for kind, values in zip(types.values(), columns, strict=True):
        if kind == "DATE":  # SQLite hands dates back as text: let DuckDB cast them
            values = [None if v is None else str(v) for v in values]
            arrays.append(pa.array(values, type=pa.string()))
        else:
            arrays.append(pa.array(values, type=ARROW_TYPES[kind]))
    return pa.Table.from_arrays(arrays, names=list(types))


def copy_csv(cursor, sql: str, params, types: dict) -> pa.Table:
    """Stream one query out of PostgreSQL with COPY into a temporary file, then parse it with Arrow."""
    with tempfile.NamedTemporaryFile(suffix=".csv", dir=os.environ.get("WEIBAO_SCREENING_TMP")) as tmp:
        with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            for chunk in copy:
                tmp.write(chunk)
        tmp.flush()
        if not tmp.tell():  # no rows (Arrow refuses an empty CSV file): an empty table of the same schema
            return pa.table({c: pa.array([], type=ARROW_TYPES[t]) for c, t in types.items()})
        options = pacsv.ConvertOptions(column_types={c: ARROW_TYPES[t] for c, t in types.items()})
        read = pacsv.ReadOptions(column_names=list(types), block_size=16 << 20)
        return pacsv.read_csv(tmp.name, read_options=read, convert_options=options)


_ELEMENT = {"BIGINT": (20, 8), "DATE": (1082, 4)}  # type oid, width on the wire


def copy_arrays(cursor, sql: str, params, types: dict, chunk_by: str) -> pa.Table:
    """One query out of PostgreSQL as a few rows of arrays (BIGINT columns never NULL; a NULL DATE is sent as
    'infinity' and comes back as null), decoded in bulk: ``COPY (SELECT array_agg(…) …) … (FORMAT binary)``."""
    aggs = ", ".join(
        f"array_agg(coalesce(s.{c}, 'infinity'::date))" if t == "DATE" else f"array_agg(s.{c})"
        for c, t in types.items()
    )
    query = f"SELECT {aggs} FROM ({sql}) s GROUP BY s.{chunk_by} >> {CHUNK_BITS}"  # noqa: S608 - fixed names
    data = bytearray()
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)", params) as copy:
        for chunk in copy:  # one chunk per row of arrays
            data += chunk
    if data[:11] != b"PGCOPY\n\xff\r\n\x00":
        raise ValueError("not a binary COPY stream")
    (extension,) = struct.unpack_from(">i", data, 15)
    pos, parts = 19 + extension, {c: [] for c in types}
    while True:
        (fields,) = struct.unpack_from(">h", data, pos)
        pos += 2
        if fields == -1:
            break
        if fields != len(types):
            raise ValueError(f"{fields} fields in a row of arrays, expected {len(types)}")
        for column, kind in types.items():
            oid, width = _ELEMENT[kind]
            length, ndim, has_nulls, element = struct.unpack_from(">iiii", data, pos)
            if ndim != 1 or has_nulls or element != oid:
                raise ValueError(f"unexpected array for {column}")
            (count,) = struct.unpack_from(">i", data, pos + 16)
            cells = np.frombuffer(
                data,
                dtype=np.dtype([("length", ">i4"), ("value", f">i{width}")]),
                count=count,
                offset=pos + 24,
            )
            if (cells["length"] != width).any():
                raise ValueError(f"unexpected element in {column}")
            parts[column].append(cells["value"].astype(f"<i{width}"))
            pos += 4 + length
    arrays = []
    for column, kind in types.items():
        values = (
            np.concatenate(parts[column]) if parts[column] else np.array([], dtype=f"<i{_ELEMENT[kind][1]}")
        )
        if kind == "DATE":
            missing = values == NULL_DATE
            values = np.where(missing, 0, values + PG_EPOCH).astype(np.int32)
            arrays.append(pa.array(values, type=pa.date32(), mask=missing if missing.any() else None))
        else:
            arrays.append(pa.array(values, type=pa.int64()))
    return pa.Table.from_arrays(arrays, names=list(types))


def fetch(cursor, sql: str, params, types: dict, *, chunk_by: str | None = None) -> pa.Table:
    """A query's rows as an Arrow table of ``types``: on PostgreSQL as arrays (``chunk_by`` given: BIGINT and
    DATE columns only) or CSV, on SQLite through the cursor."""
    if not is_postgres():
        cursor.execute(sql, params)
        return _from_rows(types, cursor.fetchall())
    raw = getattr(cursor, "cursor", cursor)  # Django's cursor wrapper or a psycopg cursor
    if chunk_by is not None:
        return copy_arrays(raw, sql, params or None, types, chunk_by)
    return copy_csv(raw, sql, params or None, types)


def _read(cursor, name: str, sql: str, params) -> pa.Table:
    return fetch(cursor, sql, params, SCHEMAS[name], chunk_by=ARRAYS.get(name))


def _load(con, name: str, table: pa.Table) -> None:
    con.register(f"_{name}", table)
    columns = [f"CAST({c} AS {t}) AS {c}" for c, t in SCHEMAS[name].items()]
    if name == "persons":
        columns.insert(1, "'minor' AS kind")
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {', '.join(columns)} FROM _{name}")
    con.unregister(f"_{name}")


def _in_parallel(snapshot_id: str, name: str, sql: str, params):
    """One big table over another connection that imports the first one's snapshot."""
    import psycopg

    with psycopg.connect(**connection.get_connection_params()) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot_id)))
        with conn.cursor() as cursor:
            return copy_arrays(cursor, sql, params or None, SCHEMAS[name], ARRAYS[name])


# read over connections of their own during a full snapshot, while the first one reads the rest
PARALLEL = ("events", "guardianships")


def take(
    person_ids=None, *, threads: int | None = None, today: datetime.date | None = None, definitions=None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding the snapshot tables (all persons, or only ``person_ids``).

    With ``today`` and ``definitions`` (the rules to run), only what those rules can read on that day is
    loaded; without them, every row (minors only) — for any rule and any day.

    On PostgreSQL every table is read in one REPEATABLE READ transaction (unless the caller already holds a
    transaction, whose view is then used); in its own transaction it also exports it and streams the events and the
    guardianships over connections of their own at the same time (``SET TRANSACTION SNAPSHOT``: all see
    exactly the same data).
    """
    if (today is None) != (definitions is None):
        raise ValueError("a snapshot scoped to rules needs both the day and the definitions")
    reads = None if definitions is None else conditions.reads(definitions)
    con = connect(threads)
    ids = None if person_ids is None else [int(i) for i in person_ids]
    postgres = is_postgres()
    own_transaction = postgres and not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if own_transaction:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute(_queries(None, None, [])["event_types"][0])  # first: the snapshot is taken here
            types = cursor.fetchall()
            _load(con, "event_types", _from_rows(SCHEMAS["event_types"], types))
            queries = _queries(today, reads, types)
            pending, pool = {}, None
            if own_transaction:  # big tables on three connections sharing this snapshot
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot_id = cursor.fetchone()[0]
                pool = ThreadPoolExecutor(max_workers=len(PARALLEL))
                for name in PARALLEL:
                    pending[name] = pool.submit(
                        _in_parallel, snapshot_id, name, *_select(name, queries[name], ids)
                    )
            try:
                for name in ("persons", "person_categories", "guardianships", "events"):
                    if name not in pending:
                        sql, params = _select(name, queries[name], ids)
                        _load(con, name, _read(cursor, name, sql, params))
                for name, future in pending.items():
                    _load(con, name, future.result())
            finally:
                if pool is not None:
                    pool.shutdown()
    return con
