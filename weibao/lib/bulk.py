"""Writing many rows at once: ids from the sequence and one ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere
(tests, small installs). Used by the registry's bulk writes, the feeds pipeline and the audit trail."""

import json

from django.db import connection
from django.db.models import JSONField
from psycopg import sql


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def allocate_ids(model, count: int) -> list[int]:
    """Primary keys for rows about to be inserted with COPY (PostgreSQL only)."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [r[0] for r in cursor.fetchall()]


def insert_rows(model, columns: list[str], rows: list[tuple], *, with_ids: bool = False) -> list[int]:
    """Insert ``rows`` (tuples in ``columns`` order, JSON columns as JSON text); return the new ids if asked.

    PostgreSQL: ids from the sequence, then one COPY. Elsewhere: ``bulk_create`` (tests, small installs).
    """
    if not rows:
        return []
    if is_postgres():
        ids = allocate_ids(model, len(rows)) if with_ids else []
        cols = ["id", *columns] if with_ids else columns
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, cols))
        )
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            write = copy.write_row
            if with_ids:
                for pk, row in zip(ids, rows, strict=True):
                    write((pk, *row))
            else:
                for row in rows:
                    write(row)
        return ids
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    json_cols = {i for i, c in enumerate(columns) if isinstance(by_attname[c], JSONField)}
    objs = []
    for row in rows:
        values = {
            c: (json.loads(v) if i in json_cols else v)
            for i, (c, v) in enumerate(zip(columns, row, strict=True))
        }
        objs.append(model(**values))
    model._default_manager.bulk_create(objs, batch_size=500)
    return [o.pk for o in objs]
