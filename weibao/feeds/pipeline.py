"""The feed pipeline: land → validate → normalise → link to persons → events, one chunk at a time.

``run_batch(batch, rows)`` is the whole path. For each chunk of rows:

1. ``land_chunk`` stores every row exactly as received (status *pending*) and commits, so that nothing
   is lost whatever happens next (COPY on PostgreSQL, bulk insert elsewhere);
2. ``process_chunk`` validates the rows, writes source records, persons, identity documents, department
   links and events set-wise, marks the landing rows accepted or rejected (with ``{field: [messages]}``),
   advances ``batch.processed_through`` — all in one transaction.

A batch interrupted anywhere (exception, kill) is resumed by calling ``run_batch`` again with the same
rows: landed-but-unprocessed rows are processed from landing first, then reading continues after
``batch.landed_through``. Source records are unique per (feed, source id), so nothing is ever doubled;
a source id resent with the same content is counted as a duplicate and ignored.
"""

import datetime
import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from django.db import connection, transaction
from django.db.models import JSONField, Q
from django.utils import timezone
from psycopg import sql

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.crypto import blind_index, encrypt
from weibao.lib.masking import mask_id_number
from weibao.lib.pinyin import name_keys
from weibao.registry.choices import LinkBasis, Sensitivity
from weibao.registry.models import DepartmentLink, IdentityDocument, Person

from .choices import BatchStatus, Carries, LandingStatus
from .models import Batch, Event, LandingRecord, SourceRecord
from .validation import RecordValidator, content_hash

CHUNK_SIZE = 5_000
STALE_AFTER = datetime.timedelta(minutes=2)  # a batch whose worker stopped beating may be taken over


class BatchBusy(Exception):
    """Another worker is processing this batch."""


# --- writing many rows -------------------------------------------------------------------------------


def _is_postgres() -> bool:
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
    if _is_postgres():
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


# --- landing ------------------------------------------------------------------------------------------


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def land_chunk(batch: Batch, rows: list[tuple[int, dict]]) -> None:
    """Store rows exactly as received, status pending, and commit: from here on nothing can be lost."""
    landing = []
    for number, raw in rows:
        text = _dump(raw)
        source_id = raw.get("source_id") if isinstance(raw, dict) else None
        source_id = str(source_id)[:200] if source_id is not None else ""
        landing.append(
            (batch.pk, number, source_id, text, hashlib.sha1(text.encode()).hexdigest(), "pending", "{}", "")
        )
    with transaction.atomic():
        insert_rows(
            LandingRecord,
            [
                "batch_id",
                "row_number",
                "source_id",
                "raw",
                "content_hash",
                "status",
                "errors",
                "resolution_reason",
            ],
            landing,
        )
        last = rows[-1][0]
        Batch.objects.filter(pk=batch.pk).update(
            landed_through=last, received=batch.received + len(rows), heartbeat=timezone.now()
        )
    batch.landed_through, batch.received = last, batch.received + len(rows)


# --- processing ---------------------------------------------------------------------------------------


class ChunkResult:
    def __init__(self):
        self.accepted = 0
        self.duplicates = 0
        self.rejected: dict[int, dict] = {}  # row number → {field: [messages]}
        self.reasons: Counter = Counter()

    def reject(self, number: int, problems: list) -> None:
        errors: dict[str, list[str]] = {}
        for field, code, message in problems:
            errors.setdefault(field, []).append(message)
            self.reasons[f"{field}/{code}"] += 1
        self.rejected[number] = errors


def validate_chunk(validator: RecordValidator, rows, result: ChunkResult) -> list:
    """Valid rows as ``(row_number, clean, data_text, content_hash, number_index)``; the rest rejected."""
    valid = []
    validate = validator.validate
    for number, raw in rows:
        try:
            clean, problems = validate(raw if isinstance(raw, dict) else {"__unparsed__": raw})
        except Exception as exc:  # a bug must not lose the row: it waits in landing with the reason
            clean, problems = (
                None,
                [("record", "internal", f"系统处理出错：{exc.__class__.__name__} (internal error)")],
            )
        if problems:
            result.reject(number, problems)
            continue
        plain = clean["_number"]
        index = blind_index(plain, clean["id_type"]) if plain else ""
        data = {k: v for k, v in clean.items() if k[0] != "_"}
        data["birth_date"] = data["birth_date"].isoformat() if data["birth_date"] else None
        if "occurred_on" in data:
            data["occurred_on"] = data["occurred_on"].isoformat()
        data["id_number_masked"] = mask_id_number(plain)
        data["id_index"] = index
        text = json.dumps(data, sort_keys=True, ensure_ascii=False)
        valid.append((number, clean, text, hashlib.sha1(text.encode()).hexdigest(), index))
    return valid


def drop_repeats(feed, valid: list, result: ChunkResult) -> list:
    """Source ids already known (this chunk or earlier): same content → duplicate, else rejected."""
    seen: dict[str, str] = dict(
        SourceRecord.objects.filter(feed=feed, source_id__in={v[1]["source_id"] for v in valid}).values_list(
            "source_id", "content_hash"
        )
    )
    fresh = []
    for item in valid:
        number, clean, _text, digest, _index = item
        known = seen.get(clean["source_id"])
        if known is None:
            seen[clean["source_id"]] = digest
            fresh.append(item)
        elif known == digest:
            result.duplicates += 1
        else:
            result.reject(
                number,
                [
                    (
                        "source_id",
                        "conflict",
                        "该源记录编号已报送过且内容不同 (source id resent with different content)",
                    )
                ],
            )
    return fresh


def link_persons(feed, fresh: list, *, sensitive: bool) -> list[int]:
    """The person of each row: exact match on the ID blind index, else a new person (+ document)."""
    indexes = {item[4] for item in fresh if item[4]}
    known = (
        dict(
            IdentityDocument.objects.filter(number_index__in=indexes)
            .order_by("pk")
            .values_list("number_index", "person_id")
        )
        if indexes
        else {}
    )
    now = timezone.now()
    new_rows, new_for = (
        [],
        [],
    )  # person rows, and for each the index of the row in ``fresh`` (or its number key)
    pending: dict[str, int] = {}  # blind index → position in new_rows, for repeats inside the chunk
    person_of: list = [None] * len(fresh)
    for pos, (_number, clean, _text, _digest, index) in enumerate(fresh):
        if index and index in known:
            person_of[pos] = known[index]
            continue
        if index and index in pending:
            person_of[pos] = ("new", pending[index])
            continue
        pinyin, initials = name_keys(clean["name"])
        new_rows.append(
            (
                _uuid(), clean["kind"], clean["name"], pinyin, initials, clean["sex"], clean["birth_date"],
                clean["_street_id"], clean["address"], clean["phone"],
                Sensitivity.SENSITIVE if sensitive else Sensitivity.NORMAL, now, now,
            )
        )  # fmt: skip
        new_for.append(pos)
        person_of[pos] = ("new", len(new_rows) - 1)
        if index:
            pending[index] = len(new_rows) - 1
    new_ids = insert_rows(
        Person,
        ["uuid", "kind", "name", "name_pinyin", "name_initials", "sex", "birth_date", "street_id", "address",
         "phone", "sensitivity", "created", "updated"],
        new_rows,
        with_ids=True,
    )  # fmt: skip
    documents = []
    for pos, pk in zip(new_for, new_ids, strict=True):
        _number, clean, _text, _digest, index = fresh[pos]
        if index:
            plain = clean["_number"]
            documents.append((pk, clean["id_type"], encrypt(plain), index, mask_id_number(plain), True, now))
    insert_rows(
        IdentityDocument,
        ["person_id", "type", "number_encrypted", "number_index", "number_masked", "is_valid", "created"],
        documents,
    )
    persons = [new_ids[p[1]] if isinstance(p, tuple) else p for p in person_of]
    existing = set(known.values())
    if sensitive and existing:
        Person.objects.filter(pk__in=existing).exclude(sensitivity=Sensitivity.SENSITIVE).update(
            sensitivity=Sensitivity.SENSITIVE
        )
    linked = (
        set(
            DepartmentLink.objects.filter(
                organisation_id=feed.owner_id, basis=LinkBasis.SENT, person_id__in=existing
            ).values_list("person_id", flat=True)
        )
        if existing
        else set()
    )
    links = []
    for pk in dict.fromkeys(persons):
        if pk not in linked:
            links.append((pk, feed.owner_id, LinkBasis.SENT, now))
    insert_rows(DepartmentLink, ["person_id", "organisation_id", "basis", "created"], links)
    return persons


def _uuid() -> str:
    import uuid

    return uuid.uuid4().hex


def write_records(batch: Batch, feed, fresh: list, persons: list[int]) -> None:
    now = timezone.now()
    source_rows = [
        (feed.pk, clean["source_id"], digest, text, person, batch.pk, number, now)
        for (number, clean, text, digest, _index), person in zip(fresh, persons, strict=True)
    ]
    ids = insert_rows(
        SourceRecord,
        ["feed_id", "source_id", "content_hash", "data", "person_id", "batch_id", "row_number", "created"],
        source_rows,
        with_ids=True,
    )
    if feed.carries != Carries.EVENTS:
        return
    event_rows = [
        (_uuid(), person, feed.event_type_id, clean["occurred_on"], feed.owner_id, feed.pk, source_id,
         json.dumps(clean["event"], ensure_ascii=False), now)
        for (_number, clean, _t, _d, _i), person, source_id in zip(fresh, persons, ids, strict=True)
    ]  # fmt: skip
    insert_rows(
        Event,
        ["uuid", "person_id", "event_type_id", "occurred_on", "source_organisation_id", "feed_id",
         "source_record_id", "data", "created"],
        event_rows,
    )  # fmt: skip


def process_chunk(batch: Batch, validator: RecordValidator, rows: list[tuple[int, dict]]) -> ChunkResult:
    """Validate and normalise landed rows; every write of the chunk in one transaction."""
    feed = batch.feed
    result = ChunkResult()
    with transaction.atomic():
        valid = validate_chunk(validator, rows, result)
        fresh = drop_repeats(feed, valid, result)
        sensitive = bool(feed.event_type_id and feed.event_type.is_sensitive)
        persons = link_persons(feed, fresh, sensitive=sensitive)
        write_records(batch, feed, fresh, persons)
        result.accepted = len(fresh)
        lo, hi = rows[0][0], rows[-1][0]
        if result.rejected:
            marked = list(LandingRecord.objects.filter(batch=batch, row_number__in=list(result.rejected)))
            for landing in marked:
                landing.status, landing.errors = LandingStatus.REJECTED, result.rejected[landing.row_number]
            LandingRecord.objects.bulk_update(marked, ["status", "errors"], batch_size=500)
        LandingRecord.objects.filter(
            batch=batch, row_number__gte=lo, row_number__lte=hi, status=LandingStatus.PENDING
        ).update(status=LandingStatus.ACCEPTED)
        reasons = Counter(batch.rejected_by_reason) + result.reasons
        batch.accepted += result.accepted
        batch.duplicates += result.duplicates
        batch.rejected += len(result.rejected)
        batch.rejected_by_reason = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
        batch.processed_through = hi
        Batch.objects.filter(pk=batch.pk).update(
            accepted=batch.accepted,
            duplicates=batch.duplicates,
            rejected=batch.rejected,
            rejected_by_reason=batch.rejected_by_reason,
            processed_through=hi,
            heartbeat=timezone.now(),
        )
    return result


# --- the whole batch ----------------------------------------------------------------------------------


def chunks(rows: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def claim(batch: Batch) -> bool:
    """Take the batch for processing (a conditional update: safe with several workers)."""
    now = timezone.now()
    claimable = Q(status__in=[BatchStatus.RECEIVING, BatchStatus.INTERRUPTED]) | Q(
        status=BatchStatus.PROCESSING, heartbeat__lt=now - STALE_AFTER
    )
    taken = Batch.objects.filter(claimable, pk=batch.pk).update(status=BatchStatus.PROCESSING, heartbeat=now)
    if taken:
        batch.refresh_from_db()
    return bool(taken)


def pending_rows(batch: Batch, size: int) -> Iterator[list[tuple[int, dict]]]:
    """Rows landed by an earlier, interrupted run but never processed."""
    after = 0
    while True:
        chunk = list(
            LandingRecord.objects.filter(batch=batch, status=LandingStatus.PENDING, row_number__gt=after)
            .order_by("row_number")
            .values_list("row_number", "raw")[:size]
        )
        if not chunk:
            return
        yield chunk
        after = chunk[-1][0]


def run_batch(
    batch: Batch, rows: Iterable[tuple[int, dict]], *, chunk_size: int = CHUNK_SIZE, actor=None
) -> Batch:
    """Ingest ``rows`` into ``batch``; resumable. Returns the batch with its report filled in."""
    if batch.status == BatchStatus.DONE:
        return batch
    if not claim(batch):
        raise BatchBusy(f"批次 {batch.uuid} 正在由其他进程处理 (batch is being processed elsewhere)")
    validator = RecordValidator(batch.feed)
    started = time.perf_counter()
    if batch.started is None:
        batch.started = timezone.now()
        Batch.objects.filter(pk=batch.pk).update(started=batch.started)
    try:
        for chunk in pending_rows(batch, chunk_size):
            process_chunk(batch, validator, chunk)
        landed = batch.landed_through
        for chunk in chunks((r for r in rows if r[0] > landed), chunk_size):
            land_chunk(batch, chunk)
            process_chunk(batch, validator, chunk)
    except BaseException as exc:
        batch.seconds += time.perf_counter() - started
        batch.status = BatchStatus.INTERRUPTED
        batch.message = f"{exc.__class__.__name__}: {exc}"[:500]
        Batch.objects.filter(pk=batch.pk).update(
            status=batch.status, message=batch.message, seconds=batch.seconds
        )
        raise
    batch.seconds += time.perf_counter() - started
    batch.status, batch.finished, batch.message = BatchStatus.DONE, timezone.now(), ""
    with transaction.atomic():
        Batch.objects.filter(pk=batch.pk).update(
            status=batch.status, finished=batch.finished, seconds=batch.seconds, message=""
        )
        record(
            actor if actor is not None else batch.created_by,
            AuditAction.IMPORT,
            batch,
            extra=batch.report(),
        )
    return batch


def fail_batch(batch: Batch, message: str) -> Batch:
    """A file that cannot be read at all: the batch says why; nothing was landed."""
    batch.status, batch.message, batch.finished = BatchStatus.FAILED, message[:500], timezone.now()
    Batch.objects.filter(pk=batch.pk).update(
        status=batch.status, message=batch.message, finished=batch.finished
    )
    return batch


__all__ = ["BatchBusy", "content_hash", "fail_batch", "land_chunk", "process_chunk", "run_batch"]
