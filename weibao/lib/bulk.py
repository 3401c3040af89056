"""Many rows at once. Writing: keys taken ahead (``allocate_ids``), rows made ready ahead (``Rows``: COPY
text on PostgreSQL) and written by one ``COPY`` — ``bulk_create`` elsewhere (tests, small installs).
Filtering by many ids or values: ``id_in`` (one parameter), ``IdSet`` (a temporary table when large),
``pairs_where_in`` (slices), ``temp_table``; ``stage_arrow`` (an Arrow table as a temporary table). Used
by the registry's bulk writes and merges, linkage, the feeds pipeline, screening and the audit trail."""

import io
import json
import uuid

import orjson
from django.db import connection, transaction
from django.db.models import F, JSONField, Lookup, Q
from psycopg import sql
from psycopg._copy_base import TextFormatter  # the formatter ``copy.write_row`` uses
from psycopg.adapt import Transformer


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def id_in(column: str, ids) -> tuple[str, list]:
    """``(sql, params)`` saying ``column`` is one of ``ids``, with one parameter whatever their number: an
    array on PostgreSQL, a JSON array read by ``json_each`` on SQLite."""
    ids = [int(i) for i in ids]
    if is_postgres():
        return f"{column} = ANY(%s::bigint[])", [ids]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]  # noqa: S608 (a column name from code)


_SEQUENCES: dict[str, str] = {}  # table → its id sequence (PostgreSQL)


def allocate_ids(model, count: int) -> list[int]:
    """``count`` new primary keys for ``model``, taken before its rows are written (so that rows pointing at
    them can be made ready at the same time, ``Rows``): from the table's sequence on PostgreSQL — named once:
    ``nextval(pg_get_serial_sequence(…))`` looked it up again for every row (70 ms per 10,000 ids, not 8) —
    and from ``sqlite_sequence`` on SQLite (Django's keys there are AUTOINCREMENT, which never hands out a
    key at or below that counter). Keys of rows never written are simply skipped."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if not is_postgres():
            with transaction.atomic(using=connection.alias):  # the first write takes SQLite's write lock
                cursor.execute(
                    f'INSERT INTO sqlite_sequence (name, seq) SELECT %s, COALESCE(MAX(id), 0) FROM "{table}" '  # noqa: S608
                    "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s)",
                    [table, table],
                )
                cursor.execute(
                    "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s RETURNING seq", [count, table]
                )
                (last,) = cursor.fetchall()[0]  # all: SQLite finishes the statement only then
            return list(range(last - count + 1, last + 1))
        if table not in _SEQUENCES:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            (sequence,) = cursor.fetchone()
            if sequence is None:
                raise LookupError(f"{table}.id has no sequence")
            _SEQUENCES[table] = sequence
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_SEQUENCES[table], count])
        return [r[0] for r in cursor.fetchall()]


class Rows:
    """Rows for one table, made ready before they are written: on PostgreSQL already formatted as ``COPY``
    text (by psycopg's own formatter, what ``copy.write_row`` does), so that ``write`` — possibly in another
    thread, on another connection — only sends bytes. Tuples in ``columns`` order, JSON columns as JSON text.
    ``skip_conflicts``: a row that would break a unique constraint is left out instead of failing the write
    (someone else wrote it meanwhile); rows go in sorted by their columns, so that two such writes of the same
    keys wait for each other instead of deadlocking. (On SQLite, ``INSERT OR IGNORE``, which would also drop
    a row breaking NOT NULL or CHECK: callers pass complete rows.)
    """

    def __init__(self, model, columns: list[str], rows: list[tuple], *, skip_conflicts: bool = False):
        self.model, self.columns, self.count = model, columns, len(rows)
        self.rows, self.text, self.skip_conflicts = rows, b"", skip_conflicts
        if is_postgres() and rows:
            connection.ensure_connection()
            formatter = TextFormatter(Transformer.from_context(connection.connection))
            text = bytearray()
            for row in rows:
                text += formatter.write_row(row)
            text += formatter.end()
            self.rows, self.text = None, text

    def write(self) -> None:
        """One ``COPY`` on PostgreSQL (with ``skip_conflicts``: into a temporary table, then one
        ``INSERT … ON CONFLICT DO NOTHING``, as ``COPY`` cannot skip), ``bulk_create`` elsewhere."""
        if not self.count:
            return
        model = self.model
        if self.rows is None:
            if self.skip_conflicts:
                self._write_skipping_conflicts()
                return
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, self.columns))
            )
            with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
                copy.write(self.text)
            return
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        json_cols = {i for i, c in enumerate(self.columns) if isinstance(by_attname[c], JSONField)}
        objs = [
            model(**{c: (json.loads(v) if i in json_cols else v) for i, (c, v) in enumerate(zip(self.columns, row, strict=True))})
            for row in self.rows
        ]  # fmt: skip
        model._default_manager.bulk_create(objs, batch_size=500, ignore_conflicts=self.skip_conflicts)

    def _write_skipping_conflicts(self) -> None:
        by_attname = {f.attname: f for f in self.model._meta.concrete_fields}
        names = sql.SQL(", ").join(map(sql.Identifier, self.columns))
        spec = ", ".join(f'"{c}" {by_attname[c].db_type(connection)}' for c in self.columns)
        with transaction.atomic():  # the temporary table goes with a rollback
            staged = temp_table(spec, text=self.text)
            with connection.cursor() as cursor:
                cursor.execute(
                    sql.SQL(
                        "INSERT INTO {} ({}) SELECT {} FROM {} ORDER BY {} ON CONFLICT DO NOTHING"
                    ).format(
                        sql.Identifier(self.model._meta.db_table), names, names, sql.Identifier(staged), names
                    )
                )
            drop_temp_table(staged)


def insert_rows(model, columns: list[str], rows: list[tuple], *, with_ids: bool = False) -> list[int]:
    """Insert ``rows`` (``Rows``) now; with ``with_ids``, under new keys (``allocate_ids``), returned."""
    if not rows:
        return []
    ids = allocate_ids(model, len(rows)) if with_ids else []
    if with_ids:
        columns, rows = ["id", *columns], [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
    Rows(model, columns, rows).write()
    return ids


# --- sets of ids and values to filter by -----------------------------------------------------------------

LOOKUP_CHUNK = 20_000  # values per ``= ANY(…)`` / ``IN`` look-up


def pairs_where_in(queryset, field: str, values, *columns) -> list[tuple]:
    """``queryset.filter(field__in=values).values_list(*columns)``, ``LOOKUP_CHUNK`` values at a time
    (PostgreSQL: ``= ANY(ARRAY(SELECT json_array_elements_text(…)))``, see ``_AnyOfArray``)."""
    values = list(values)
    out = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        part = values[start : start + LOOKUP_CHUNK]
        if is_postgres():
            found = queryset.filter(Q(_AnyOfArray(F(field), part)))
        else:
            found = queryset.filter(**{f"{field}__in": part})
        out.extend(found.values_list(*columns))
    return out


class _AnyOfArray(Lookup):
    """``column = ANY(ARRAY(SELECT json_array_elements_text(%s::json)::type))`` (PostgreSQL): the values hidden
    from the planner, which then probes the column's index once per value. Given thousands of literal values
    it judged them many and read every row under a wider index instead (all of a feed's source records, all
    of a department's links) — once per chunk, so an ingest grew with the square of the table. The values
    travel as one JSON text (orjson): psycopg quotes a list parameter element by element in Python, ~4 µs
    a value, five times the JSON's cost."""

    lookup_name = "weibao_any_of_array"  # not registered: built by ``pairs_where_in`` and ``IdSet`` only
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        cast = self.lhs.output_field.cast_db_type(connection)
        # a value JSON cannot say (orjson raises) is refused, never matched as its text
        values = orjson.dumps(list(self.rhs)).decode()
        return f"{lhs} = ANY(ARRAY(SELECT json_array_elements_text(%s::json)::{cast}))", [*params, values]


class _InTempTable(Lookup):
    """``column = ANY(ARRAY(SELECT k FROM <temporary table>))`` (``IdSet``)."""

    lookup_name = "weibao_in_temp_table"  # not registered: built by ``IdSet.filters`` only
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY(SELECT k FROM {self.rhs}))", params  # noqa: S608 — the table is ours


class IdSet:
    """Primary keys to filter by, possibly many times (``filters``): on PostgreSQL a temporary table filled by
    one COPY for more than ``SMALL`` ids (a parameter is sent and parsed again by every query that uses it),
    else one JSON parameter (``_AnyOfArray``); elsewhere slices of 5,000 (SQLite limits the parameters of a query).
    A context manager: the temporary table is dropped on leaving (rolled back with the transaction on error).
    """

    SMALL = 1000

    def __init__(self, pks):
        self.pks = sorted(set(pks))
        self.postgres = is_postgres()
        self.table = None

    def __enter__(self):
        if self.postgres and len(self.pks) > self.SMALL:
            self.table = temp_table("k bigint PRIMARY KEY", text="".join(f"{k}\n" for k in self.pks))
        return self

    def __exit__(self, exc_type, exc, tb):
        # after an error inside a transaction the table goes with the rollback (and SQL would be refused)
        if self.table and (exc_type is None or not connection.in_atomic_block):
            drop_temp_table(self.table)

    def filters(self, name: str):
        """``Q(name__in=…)`` objects whose union is the set (none for an empty set)."""
        if not self.pks:
            return
        if self.table:
            # ``= ANY(ARRAY(…))``, not ``IN (SELECT …)``: the array is made once and the column's index is
            # probed per id — the semi-join read the whole table (hash join) whatever the set's size
            yield Q(_InTempTable(F(name), self.table))
        elif self.postgres:
            yield Q(_AnyOfArray(F(name), self.pks))
        else:
            for i in range(0, len(self.pks), 5000):
                yield Q(**{f"{name}__in": self.pks[i : i + 5000]})


def temp_table(columns: str, *, text: str | bytes = "", rows=()) -> str:
    """A new temporary table (PostgreSQL) with ``columns`` (SQL), filled by one COPY — of ``text`` (COPY text
    format, one line per row: the fastest for plain numbers) or of ``rows`` (tuples, escaped by psycopg);
    returns its name. Not analysed: the planner takes its size from the file, which is what the joins need.
    Rolled back with the transaction; ``drop_temp_table`` when done."""
    name = f"weibao_tmp_{uuid.uuid4().hex[:16]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")
        with cursor.cursor.copy(f"COPY {name} FROM STDIN") as copy:  # noqa: S608 — own name
            if text:
                copy.write(text)
            for row in rows:
                copy.write_row(row)
    return name


def drop_temp_table(name: str):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")


def stage_arrow(cursor, name: str, table) -> None:
    """An Arrow table of BIGINT columns (NULLs allowed) into the new temporary table ``name`` — by one CSV
    ``COPY`` (Arrow writes the CSV) and analysed on PostgreSQL; row by row on SQLite. The caller drops it."""
    columns = ", ".join(f"{c} bigint" for c in table.column_names)
    cursor.execute(f"CREATE TEMP TABLE {name} ({columns})")
    if not table.num_rows:
        return
    if is_postgres():
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
        with cursor.cursor.copy(f"COPY {name} FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
        cursor.execute(f"ANALYZE {name}")
    else:
        rows = zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True)
        marks = ", ".join(["%s"] * table.num_columns)
        cursor.executemany(f"INSERT INTO {name} VALUES ({marks})", list(rows))  # noqa: S608 — names from code
