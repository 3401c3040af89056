"""The feed pipeline: land → validate → normalise → link to persons → events, one chunk at a time.

``run_batch(batch, rows)`` is the whole path. For each chunk of rows:

1. ``land`` stores every row exactly as received (status *pending*; ``landing_rows``) and commits, so
   that nothing is lost whatever happens next (COPY on PostgreSQL, bulk insert elsewhere) — before
   anything of the chunk is stored;
2. ``process_chunk`` validates the rows and makes their writes ready (``prepare_chunk``: persons,
   identity documents, department links, source records and events, keys taken and rows formatted);
   ``store_chunk`` then writes them set-wise, marks the rejected landing rows (with ``{field: [messages]}``)
   and advances ``batch.processed_through`` — which makes the others accepted — all in one transaction.
   On PostgreSQL both writes run behind: chunk N is stored, then chunk N+1 landed, on a second
   connection, which only sends what was made ready, while chunk N+1 is read, checked and made ready
   (``StoreBehind``).

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
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import orjson
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.bulk import Rows, allocate_ids, is_postgres, pairs_where_in
from weibao.lib.crypto import blind_index_many, encrypt_many
from weibao.lib.masking import mask_id_number
from weibao.lib.memory import cycles_paused
from weibao.registry import bulk

from .choices import BatchStatus, Carries, LandingStatus
from .models import Batch, Event, LandingRecord, SourceRecord
from .protect import ciphertext_of, escape_unstorable, identifier_columns, protect_many, received
from .readers import FileError
from .signals import batch_committed
from .tasks import link_batch
from .validation import RecordValidator

CHUNK_SIZE = 5_000
OVERLAP = True  # StoreBehind on PostgreSQL; the benchmark's --sequential turns it off
STALE_AFTER = datetime.timedelta(minutes=2)  # a batch whose worker stopped beating may be taken over

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _to_json(value, option=orjson.OPT_PASSTHROUGH_DATETIME) -> str:
    """Compact JSON text (orjson: ~6× the standard library's speed, run several times per row); dates and
    times as ``str()`` gives them. What orjson refuses (an integer beyond 64 bits …) takes the standard
    library's path, with the same separators and key order."""
    try:
        return orjson.dumps(value, default=str, option=option).decode()
    except orjson.JSONEncodeError:
        return json.dumps(
            value,
            ensure_ascii=False,
            default=str,
            separators=(",", ":"),
            sort_keys=bool(option & orjson.OPT_SORT_KEYS),
        )


def _to_sorted_json(value) -> str:
    """The canonical text of a normalised record: what its content hash is taken of."""
    return _to_json(value, _SORTED)


class BatchBusy(Exception):
    """Another worker is processing this batch."""


# --- landing ------------------------------------------------------------------------------------------


def _storable(text: str) -> bytes | None:
    """The UTF-8 of a landing row's JSON text, or None if PostgreSQL could not store it (a ``\\u0000`` in it,
    or a lone surrogate, which has no UTF-8)."""
    try:
        data = text.encode()
    except UnicodeEncodeError:
        return None
    return None if b"\\u0000" in data else data


def landing_rows(batch: Batch, rows: list[tuple[int, dict]], validator: RecordValidator) -> tuple[Rows, list]:
    """The rows as received (identifier values encrypted, see ``protect``), status pending, made ready to be
    written (``land``); and per row ``(plain, ciphertext)`` of its identifier (or None), for reuse. A row
    holding text no database can store is replaced, in ``rows`` too, by its escaped form
    (``protect.escape_unstorable``), which is then rejected for it."""
    columns = identifier_columns(validator)
    stored, sealed = protect_many([raw for _n, raw in rows], columns)
    landing = []
    append = landing.append
    sha1 = hashlib.sha1
    pk = batch.pk
    for pos, ((number, raw), keep) in enumerate(zip(rows, stored, strict=True)):
        text = _to_json(keep)
        data = _storable(text)
        if data is None and isinstance(raw, dict):
            raw = escape_unstorable(raw)
            rows[pos] = (number, raw)
            (keep,), (sealed[pos],) = protect_many([raw], columns)
            text = _to_json(keep)
            data = text.encode()
        source_id = raw.get("source_id") if isinstance(raw, dict) else None
        source_id = str(source_id)[:200] if source_id is not None else ""
        append((pk, number, source_id, text, sha1(data).hexdigest(), "pending", "{}", ""))
    columns = ["batch_id", "row_number", "source_id", "raw", "content_hash", "status", "errors",
               "resolution_reason"]  # fmt: skip
    return Rows(LandingRecord, columns, landing), sealed


def land(landing: Rows) -> None:
    """Write a chunk's landing rows (``landing_rows``) and commit: from here on nothing can be lost. The
    batch row is not touched: ``store_chunk`` counts the rows when it processes them, and a resume finds the
    last landed row in landing."""
    with transaction.atomic():
        landing.write()


# --- processing ---------------------------------------------------------------------------------------


class ChunkResult:
    def __init__(self):
        # what the chunk stores (``prepare_chunk``), for the next chunk's look-up while it is being stored:
        self.sources: dict[str, str] = {}  # source id → content hash
        self.persons: dict[str, int] = {}  # blind index → person
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


def validate_chunk(validator: RecordValidator, rows, result: ChunkResult, sealed: list | None = None) -> list:
    """Valid rows as ``(row_number, clean, data_text, content_hash, number_index, ciphertext)``; the rest
    rejected. ``sealed`` (from landing) lets the identifier's ciphertext be reused instead of re-encrypted."""
    checked = []
    validate = validator.validate
    sealed = sealed or [None] * len(rows)
    for (number, raw), seal in zip(rows, sealed, strict=True):
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
        checked.append((number, clean, seal))
    # blind indexes and ciphertexts, many at once
    by_kind: dict[str, list[int]] = {}
    for pos, (_n, clean, _s) in enumerate(checked):
        if clean["_number"]:
            by_kind.setdefault(clean["id_type"], []).append(pos)
    indexes = [""] * len(checked)
    for kind, positions in by_kind.items():
        for pos, index in zip(
            positions, blind_index_many([checked[p][1]["_number"] for p in positions], kind), strict=True
        ):
            indexes[pos] = index
    ciphers: list = [None] * len(checked)
    missing = []
    for pos, (_n, clean, seal) in enumerate(checked):
        plain = clean["_number"]
        if not plain:
            continue
        if seal is not None and seal[0] == plain:
            ciphers[pos] = seal[1]
        else:
            missing.append(pos)
    for pos, cipher in zip(missing, encrypt_many([checked[p][1]["_number"] for p in missing]), strict=True):
        ciphers[pos] = cipher
    valid = []
    append = valid.append
    sha1 = hashlib.sha1
    for pos, (number, clean, _s) in enumerate(checked):
        plain = clean["_number"]
        data = {k: v for k, v in clean.items() if k[0] != "_"}
        birth = data["birth_date"]
        data["birth_date"] = birth.isoformat() if birth else None
        if "occurred_on" in data:
            data["occurred_on"] = data["occurred_on"].isoformat()
        data["id_number_masked"] = mask_id_number(plain)
        data["id_index"] = indexes[pos]
        text = _to_sorted_json(data)
        append((number, clean, text, sha1(text.encode()).hexdigest(), indexes[pos], ciphers[pos]))
    return valid


def _known_sources(feed, source_ids: list[str]) -> dict[str, str]:
    return dict(
        pairs_where_in(
            SourceRecord.objects.filter(feed=feed), "source_id", source_ids, "source_id", "content_hash"
        )
    )


def drop_repeats(valid: list, result: ChunkResult, seen: dict) -> list:
    """Source ids already known (``seen``: source id → content hash, from ``look_up``; extended here with
    this chunk's): same content → duplicate, else rejected."""
    fresh = []
    for item in valid:
        source_id, digest = item[1]["source_id"], item[3]
        known = seen.get(source_id)
        if known is None:
            seen[source_id] = digest
            fresh.append(item)
        elif known == digest:
            result.duplicates += 1
        else:
            result.reject(
                item[0],
                [
                    (
                        "source_id",
                        "conflict",
                        "该源记录编号已报送过且内容不同 (source id resent with different content)",
                    )
                ],
            )
    return fresh


def person_entries(fresh: list) -> list:
    """Each row's person fields as ``weibao.registry.bulk.Entry``."""
    Entry = bulk.Entry
    return [
        Entry(index, clean["id_type"], cipher, mask_id_number(clean["_number"]) if index else "",
              clean["name"], clean["kind"], clean["sex"], clean["birth_date"], clean["_street_id"],
              clean["address"], clean["phone"])
        for (_n, clean, _t, _d, index, cipher) in fresh
    ]  # fmt: skip


def read_known(feed, valid: list) -> tuple[dict, dict]:
    """What the database knows of a checked chunk: its source ids already stored (→ content hash) and its
    blind indexes already in the registry (→ person)."""
    return (
        _known_sources(feed, list({v[1]["source_id"] for v in valid})),
        bulk.known_persons(v[4] for v in valid),
    )


def look_up(feed, valid: list, result: ChunkResult, known: tuple, before=None) -> tuple[list, list, dict]:
    """``(fresh rows, their person entries, the persons already known by blind index)`` — repeated source ids
    dropped or rejected (``drop_repeats``) — from ``known`` (``read_known``) and ``before``, the
    ``ChunkResult`` of the chunk stored just before: ``StoreBehind`` reads the database while that chunk is
    still being stored, so what it writes is added from memory."""
    sources, persons = known
    if before is not None:
        sources = {**sources, **before.sources}
        persons = {**persons, **before.persons}  # the newest document wins, as in ``known_persons``
    else:
        sources = dict(sources)  # ``drop_repeats`` adds this chunk's
    fresh = drop_repeats(valid, result, sources)
    entries = person_entries(fresh)
    return fresh, entries, {e.index: persons[e.index] for e in entries if e.index in persons}


class ChunkWrites(NamedTuple):
    """A checked chunk's writes, decided and made ready (``prepare_chunk``); ``write_chunk`` writes them."""

    persons: bulk.PersonWrites  # persons, identity documents, department links
    records: list[Rows]  # source records, events


def prepare_chunk(batch: Batch, looked_up: tuple, result: ChunkResult) -> ChunkWrites:
    """The person of each fresh row (``registry.bulk.plan_persons``: exact match on the ID blind index, else a
    new person with its document) and the rows of the chunk's source records and events, keys taken and
    rows formatted (``lib.bulk.Rows``) — the Python half of storing, done by the caller's thread so that
    ``StoreBehind``'s thread only sends them — while that thread may still be storing the chunk before (a
    department link it writes too is then skipped, ``plan_persons``). New persons are not queued for linkage
    here: a batch queues its own once, at its end. ``result`` learns what the chunk will have stored, for the
    next chunk's ``look_up``."""
    feed = batch.feed
    fresh, entries, known = looked_up
    sensitive = bool(feed.event_type_id and feed.event_type.is_sensitive)
    plan = bulk.plan_persons(entries, organisation_id=feed.owner_id, sensitive=sensitive, known=known)
    persons = plan.persons
    now = timezone.now()
    stamp = now.isoformat() if is_postgres() else now
    ids = allocate_ids(SourceRecord, len(fresh))
    records = [
        Rows(
            SourceRecord,
            ["id", "feed_id", "source_id", "content_hash", "data", "person_id", "batch_id", "row_number",
             "created"],
            [(pk, feed.pk, item[1]["source_id"], item[3], item[2], person, batch.pk, item[0], stamp)
             for pk, item, person in zip(ids, fresh, persons, strict=True)],
        )
    ]  # fmt: skip
    if feed.carries == Carries.EVENTS:
        event_type, owner = feed.event_type_id, feed.owner_id
        records.append(
            Rows(
                Event,
                ["uuid", "person_id", "event_type_id", "occurred_on", "source_organisation_id", "feed_id",
                 "source_record_id", "data", "created"],
                [(uuid, person, event_type, item[1]["occurred_on"], owner, feed.pk, source_id,
                  _to_json(item[1]["event"]), stamp)
                 for item, person, source_id, uuid in zip(fresh, persons, ids, bulk.uuid_hexes(len(ids)), strict=True)],
            )
        )  # fmt: skip
    result.sources = {item[1]["source_id"]: item[3] for item in fresh}
    result.persons = {e.index: person for e, person in zip(entries, persons, strict=True) if e.index}
    result.accepted = len(fresh)
    return ChunkWrites(plan, records)


def write_chunk(writes: ChunkWrites) -> None:
    writes.persons.write()
    for rows in writes.records:
        rows.write()


def mark_landing(batch: Batch, rejected: dict[int, dict]) -> None:
    """Rejected rows get their errors. The chunk's other rows stay stored as *pending*: advancing
    ``batch.processed_through`` in the same transaction makes them accepted (``LandingQuerySet``), so the
    ~98 % good rows are never rewritten."""
    table = LandingRecord._meta.db_table
    if rejected and is_postgres():
        numbers = list(rejected)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS l SET status = %s, errors = v.e::jsonb "  # noqa: S608
                "FROM unnest(%s::int[], %s::text[]) AS v(n, e) WHERE l.batch_id = %s AND l.row_number = v.n",
                [LandingStatus.REJECTED, numbers, [_to_json(rejected[n]) for n in numbers], batch.pk],
            )
    else:
        for number, errors in rejected.items():
            LandingRecord.objects.filter(batch=batch, row_number=number).update(
                status=LandingStatus.REJECTED, errors=errors
            )


def store_chunk(batch: Batch, rows: list[tuple[int, dict]], result: ChunkResult, writes: ChunkWrites) -> None:
    """Write a checked chunk (``writes``: ``prepare_chunk``) — persons, documents, links, source records,
    events, rejected landing rows, the batch's counts and ``processed_through`` — in one transaction."""
    with transaction.atomic():
        write_chunk(writes)
        hi = rows[-1][0]
        mark_landing(batch, result.rejected)
        reasons = Counter(batch.rejected_by_reason) + result.reasons
        batch.received += len(rows)
        batch.accepted += result.accepted
        batch.duplicates += result.duplicates
        batch.rejected += len(result.rejected)
        batch.rejected_by_reason = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
        batch.processed_through = hi
        batch.landed_through = max(batch.landed_through, hi)
        Batch.objects.filter(pk=batch.pk).update(
            received=batch.received,
            accepted=batch.accepted,
            duplicates=batch.duplicates,
            rejected=batch.rejected,
            rejected_by_reason=batch.rejected_by_reason,
            processed_through=hi,
            landed_through=batch.landed_through,
            heartbeat=timezone.now(),
        )


def process_chunk(
    batch: Batch, validator: RecordValidator, rows: list[tuple[int, dict]], sealed: list | None, store
) -> None:
    """Validate and normalise landed rows, then have ``store`` (a ``StoreBehind``) write the chunk — every
    write of it in one transaction."""
    result = ChunkResult()
    valid = validate_chunk(validator, rows, result, sealed)
    store.submit(batch, rows, result, valid)


class StoreBehind:
    """Lands and stores chunks in a second thread, on its own database connection, while the caller reads,
    checks and prepares (``prepare_chunk``) the next one: Python's work on chunk N+1 overlaps PostgreSQL's on
    chunk N — two cores busy instead of one taking turns; the thread itself only sends bytes. Its work runs
    one job at a time and in order — store N, land N+1, store N+1 … — so a chunk is stored only after its
    landing has committed. An error in that thread is raised by the next ``submit`` or by ``wait``.

    Only on PostgreSQL and outside a transaction (``enabled``): inside one — a test case, a caller's
    ``atomic`` — a second connection could not see the batch, so chunks are landed and stored inline."""

    def __init__(self, enabled: bool):
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="weibao-store") if enabled else None
        self.pending: list[futures.Future] = []
        self.before: ChunkResult | None = None  # the chunk submitted last

    @classmethod
    def for_connection(cls) -> "StoreBehind":
        return cls(is_postgres() and not connection.in_atomic_block and OVERLAP)

    def land(self, landing: Rows) -> None:
        """Land a chunk (``land``) behind: the call returns at once; the thread lands it once the chunk
        before is stored."""
        if self.pool is None:
            land(landing)
            return
        self.pending.append(self.pool.submit(land, landing))

    def submit(self, batch, rows, result, valid) -> None:
        # while the chunk before may still be being stored — what it writes comes from memory (``before``;
        # stored already when inline); the one before it is stored, as ``wait`` below made sure last time
        before, self.before = self.before, result
        known = read_known(batch.feed, valid)
        writes = prepare_chunk(batch, look_up(batch.feed, valid, result, known, before), result)
        self.wait()  # the chunk before stored, this one landed: an error in either stops here
        if self.pool is None:
            store_chunk(batch, rows, result, writes)
            return
        self.pending.append(self.pool.submit(store_chunk, batch, rows, result, writes))

    def wait(self) -> None:
        """Until every job given to the thread is done; the first error among them is raised here."""
        error = self._finish()
        if error is not None:
            raise error

    def _finish(self) -> BaseException | None:
        futures.wait(self.pending)  # then forgotten: an interruption here leaves them for ``close``
        pending, self.pending = self.pending, []
        return next((f.exception() for f in pending if f.exception() is not None), None)

    def close(self) -> BaseException | None:
        """Wait for the jobs in flight and close the thread's connection; returns the error the first of them
        ended with, if any (the caller, failing itself, reports both)."""
        if self.pool is None:
            return None
        try:
            return self._finish()
        finally:
            self.pool.submit(lambda: connection.close()).result()  # the thread's own connection
            self.pool.shutdown()


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


def pending_rows(batch: Batch, size: int, validator: RecordValidator) -> Iterator[tuple[list, list]]:
    """Rows landed by an earlier, interrupted run but never processed: ``(rows as received, sealed)``."""
    after = batch.processed_through
    column = identifier_columns(validator)[0]
    while True:
        stored = list(
            LandingRecord.objects.filter(batch=batch, status=LandingStatus.PENDING, row_number__gt=after)
            .order_by("row_number")
            .values_list("row_number", "raw")[:size]
        )
        if not stored:
            return
        chunk, sealed = [], []
        for number, raw in stored:
            plain = received(raw)
            chunk.append((number, plain))
            cipher = ciphertext_of(raw.get(column)) if isinstance(raw, dict) else None
            value = plain.get(column) if isinstance(plain, dict) else None
            sealed.append((value, cipher) if cipher and isinstance(value, str) else None)
        yield chunk, sealed
        after = stored[-1][0]


def last_landed(batch: Batch) -> int:
    """The last row number in landing (the batch row is not updated while landing, see ``land``)."""
    last = LandingRecord.objects.filter(batch=batch).aggregate(last=Max("row_number"))["last"]
    return max(last or 0, batch.landed_through)


def run_batch(
    batch: Batch,
    rows: Iterable[tuple[int, dict]],
    *,
    chunk_size: int = CHUNK_SIZE,
    actor=None,
    mapping: dict | None = None,
) -> Batch:
    """Ingest ``rows`` into ``batch``; resumable. Returns the batch with its report filled in. ``mapping``:
    the column mapping to read them with (default: the feed's)."""
    if batch.status == BatchStatus.DONE:
        return batch
    if not claim(batch):
        raise BatchBusy(f"批次 {batch.uuid} 正在由其他进程处理 (batch is being processed elsewhere)")
    validator = RecordValidator(batch.feed, mapping=mapping)
    started = time.perf_counter()
    if batch.started is None:
        batch.started = timezone.now()
        Batch.objects.filter(pk=batch.pk).update(started=batch.started)
    store = StoreBehind.for_connection()
    try:
        with cycles_paused():
            for chunk, sealed in pending_rows(batch, chunk_size, validator):
                process_chunk(batch, validator, chunk, sealed, store)
            landed = last_landed(batch)
            fresh = chunks((r for r in rows if r[0] > landed), chunk_size)
            for chunk in fresh:
                landing, sealed = landing_rows(batch, chunk, validator)
                store.land(landing)
                process_chunk(batch, validator, chunk, sealed, store)
            store.wait()
    except BaseException as exc:
        # the chunk in flight is stored or rolled back before the batch says where it stopped
        stored_error = store.close()
        batch.seconds += time.perf_counter() - started
        batch.status = BatchStatus.INTERRUPTED
        message = f"{exc.__class__.__name__}: {exc}"
        if stored_error is not None:
            message += f"; 存储 (store): {stored_error.__class__.__name__}: {stored_error}"
        batch.message = message[:500]
        batch.landed_through = last_landed(batch)
        with transaction.atomic():
            Batch.objects.filter(pk=batch.pk).update(
                status=batch.status,
                message=batch.message,
                seconds=batch.seconds,
                landed_through=batch.landed_through,
            )
            # what the stored chunks wrote is audited now, whether or not a resume follows (a file unreadable
            # from some row on is logged once, by ``fail_batch``)
            if not isinstance(exc, FileError):
                record(
                    actor if actor is not None else batch.created_by,
                    AuditAction.IMPORT,
                    batch,
                    extra={**batch.report(), "message": batch.message},
                )
        raise
    store.close()
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
        transaction.on_commit(lambda: link_batch.enqueue(batch.pk))
        transaction.on_commit(lambda: batch_committed.send(sender=Batch, batch=batch))
    return batch


def fail_batch(batch: Batch, message: str, *, actor=None) -> Batch:
    """A file that cannot be read (at all, or from some row on): the batch says why, and — like a finished
    batch — logs its report (what was received and processed before the failure) as one IMPORT event."""
    batch.status, batch.message, batch.finished = BatchStatus.FAILED, message[:500], timezone.now()
    with transaction.atomic():
        Batch.objects.filter(pk=batch.pk).update(
            status=batch.status, message=batch.message, finished=batch.finished
        )
        record(
            actor if actor is not None else batch.created_by,
            AuditAction.IMPORT,
            batch,
            extra={**batch.report(), "message": batch.message},
        )
        transaction.on_commit(lambda: link_batch.enqueue(batch.pk))  # the rows stored before the failure
    return batch


__all__ = ["BatchBusy", "fail_batch", "land", "landing_rows", "process_chunk", "run_batch"]
