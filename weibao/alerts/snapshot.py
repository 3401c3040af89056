"""A consistent snapshot of what screening reads, loaded into an in-memory DuckDB connection.

PostgreSQL: one REPEATABLE READ, read-only transaction; every table streamed out with ``COPY … TO STDOUT``
(CSV) into a temporary file and parsed by Arrow's multi-threaded CSV reader, then handed to DuckDB — never
row by row through the ORM. SQLite (development, demo scale): read through the DB-API cursor into Arrow.

A snapshot of some persons only (incremental screening) loads exactly those persons' rows: every rule
reads a person's own rows only, so the same SQL gives the same answer for them as the full snapshot.
"""

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import connection, transaction

# name → (SELECT over the Django tables, DuckDB column types, person column used to restrict)
TABLES = {
    "persons": (
        "SELECT id, kind, birth_date, street_id FROM registry_person WHERE merged_into_id IS NULL",
        {"id": "BIGINT", "kind": "VARCHAR", "birth_date": "DATE", "street_id": "BIGINT"},
        "id",
    ),
    "events": (
        "SELECT id, person_id, event_type_id AS type_id, occurred_on FROM feeds_event",
        {"id": "BIGINT", "person_id": "BIGINT", "type_id": "BIGINT", "occurred_on": "DATE"},
        "person_id",
    ),
    "event_types": (
        "SELECT id, code, domain FROM feeds_eventtype",
        {"id": "BIGINT", "code": "VARCHAR", "domain": "VARCHAR"},
        None,
    ),
    "person_categories": (
        "SELECT pc.person_id, c.code, pc.since, pc.until FROM registry_personcategory pc "
        "JOIN registry_category c ON c.id = pc.category_id",
        {"person_id": "BIGINT", "code": "VARCHAR", "since": "DATE", "until": "DATE"},
        "pc.person_id",
    ),
    "guardianships": (
        "SELECT minor_id, since, until FROM registry_guardianship",
        {"minor_id": "BIGINT", "since": "DATE", "until": "DATE"},
        "minor_id",
    ),
}
ARROW_TYPES = {"BIGINT": pa.int64(), "VARCHAR": pa.string(), "DATE": pa.date32()}


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that never downloads or auto-loads an extension, spilling (if ever)
    into a temporary directory, never the working one: the linkage engine's connection, shared."""
    from weibao.registry.linkage.model import connect as linkage_connect  # lazily: the package loads Splink

    return linkage_connect(threads)


def _select(name: str, person_ids) -> str:
    sql, _types, column = TABLES[name]
    if person_ids is None or column is None:
        return sql
    glue = " AND " if " WHERE " in sql else " WHERE "
    if _is_postgres():
        return f"{sql}{glue}{column} = ANY(%s::bigint[])"
    return f"{sql}{glue}{column} IN (SELECT value FROM json_each(%s))"


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _load(con, name: str, table: pa.Table) -> None:
    _sql, types, _column = TABLES[name]
    con.register(f"_{name}", table)
    columns = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in types.items())
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT {columns} FROM _{name}")
    con.unregister(f"_{name}")


def _from_rows(name: str, rows: list) -> pa.Table:
    _sql, types, _column = TABLES[name]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in types]
    arrays = []
    for kind, values in zip(types.values(), columns, strict=True):
        if kind == "DATE":  # SQLite hands dates back as text: let DuckDB cast them
            values = [None if v is None else str(v) for v in values]
            arrays.append(pa.array(values, type=pa.string()))
        else:
            arrays.append(pa.array(values, type=ARROW_TYPES[kind]))
    return pa.Table.from_arrays(arrays, names=list(types))


def _copy_csv(cursor, name: str, sql: str, params) -> pa.Table:
    """Stream one query out of PostgreSQL with COPY into a temporary file, then parse it with Arrow."""
    _sql, types, _column = TABLES[name]
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


def _events_in_parallel(snapshot_id: str):
    """The events table (the big one) over a second connection that imports the first one's snapshot."""
    import psycopg

    with psycopg.connect(**connection.get_connection_params()) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot_id)))
        with conn.cursor() as cursor:
            return _copy_csv(cursor, "events", TABLES["events"][0], None)


def take(person_ids=None, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding the snapshot tables (all persons, or only ``person_ids``).

    On PostgreSQL every table is read in one REPEATABLE READ transaction (unless the caller already holds a
    transaction, whose view is then used); the full snapshot also exports it and streams the events table over
    a second connection at the same time (``SET TRANSACTION SNAPSHOT``: both see exactly the same data).
    """
    con = connect(threads)
    ids = None if person_ids is None else [int(i) for i in person_ids]
    postgres = _is_postgres()
    own_transaction = postgres and not connection.in_atomic_block
    parallel = own_transaction and ids is None
    with transaction.atomic():
        with connection.cursor() as cursor:
            pending = None
            if own_transaction:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if parallel:
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot_id = cursor.fetchone()[0]
                pool = ThreadPoolExecutor(max_workers=1)
                pending = pool.submit(_events_in_parallel, snapshot_id)
            for name in TABLES:
                if pending is not None and name == "events":
                    continue
                sql = _select(name, ids)
                params = None
                if ids is not None and TABLES[name][2] is not None:
                    params = [ids] if postgres else [_json(ids)]
                if postgres and ids is None:
                    table = _copy_csv(cursor.cursor, name, sql, params)
                else:
                    cursor.execute(sql, params)
                    table = _from_rows(name, cursor.fetchall())
                _load(con, name, table)
            if pending is not None:
                try:
                    _load(con, "events", pending.result())
                finally:
                    pool.shutdown()
    return con


def _json(ids: list[int]) -> str:
    return json.dumps(ids)
