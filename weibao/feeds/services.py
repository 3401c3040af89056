"""Writes of the feeds app: registering feeds, receiving batches, fixing and discarding landing rows.

Each takes ``actor=``, checks it against ``Feed.objects.visible_to(actor, action)`` and records an audit
event; batches log a summary event (``import``) when they finish, fail, or are interrupted — a resumed batch
has one per run (the pipeline does that).
"""

import datetime
import hashlib
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.accounts import access
from weibao.accounts.access import SEND, may_register_feeds
from weibao.audit.models import AuditAction
from weibao.audit.services import record, snapshot
from weibao.lib.forms import check_reason
from weibao.registry.bulk import queue_linkage

from . import pipeline
from .choices import BatchSource, BatchStatus, Carries, LandingStatus
from .models import Batch, Feed, LandingRecord
from .protect import identifier_columns, protect, received
from .readers import FORMULA, UNPARSED, UNSTORABLE, FileError, open_rows
from .validation import PERSON_FIELDS, RecordValidator, marked_columns

MAX_API_RECORDS = 10_000
FEED_FIELDS = ["code", "name", "owner", "carries", "event_type", "schema_version", "mapping", "is_active"]


def feeds_actor():
    """The account feed files are sent under when no person sends them (``manage.py ingest`` without
    ``--as``, the demo's deliveries)."""
    from weibao.accounts.services import system_actor

    return system_actor("system:feeds", "数据报送（系统）")


def _check_feed(feed: Feed) -> None:
    errors = {}
    if feed.carries == Carries.EVENTS and not feed.event_type_id:
        errors["event_type"] = _("事件类数据报送须指定事件类型 (an event feed needs an event type)")
    if feed.carries == Carries.PERSONS and feed.event_type_id:
        errors["event_type"] = _("人员信息报送不应指定事件类型 (a person feed has no event type)")
    if feed.event_type_id and feed.owner_id and not feed.event_type.may_be_sent_by(feed.owner):
        errors["owner"] = _("该单位无权报送此类事件 (this organisation may not send this event type)")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_feed(feed: Feed, *, actor, reason: str = "") -> Feed:
    """Register or edit a feed: city office, or a system administrator for organisations in its area."""
    creating = feed.pk is None
    before = {}
    if not may_register_feeds(actor):
        raise PermissionDenied(_("无权登记数据报送渠道"))
    if not creating:
        current = Feed.objects.visible_to(actor, access.CHANGE).filter(pk=feed.pk).first()
        if current is None:
            raise PermissionDenied(_("无权修改该数据报送渠道"))
        before = snapshot(current, FEED_FIELDS)
    feed.full_clean()
    _check_feed(feed)
    feed.save()
    if not Feed.objects.visible_to(actor, access.CHANGE).filter(pk=feed.pk).exists():
        raise PermissionDenied(_("该单位不在您的管理范围内"))
    record(
        actor,
        AuditAction.CREATE if creating else AuditAction.UPDATE,
        feed,
        before=before,
        after=snapshot(feed, FEED_FIELDS),
        reason=reason,
    )
    return feed


@transaction.atomic
def save_mapping(feed: Feed, mapping: dict, *, actor) -> Feed:
    """The column mapping chosen on the upload page (canonical field → column in the file)."""
    if not Feed.objects.visible_to(actor, SEND).filter(pk=feed.pk).exists():
        raise PermissionDenied(_("无权修改该数据报送渠道"))
    known = set(RecordValidator(feed).fields)
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise ValidationError({"mapping": _("未知字段：%(f)s (unknown fields)") % {"f": "、".join(unknown)}})
    before = {"mapping": feed.mapping}
    feed.mapping = {k: v for k, v in mapping.items() if v and v != k}
    Feed.objects.filter(pk=feed.pk).update(mapping=feed.mapping, updated=timezone.now())
    record(actor, AuditAction.UPDATE, feed, before=before, after={"mapping": feed.mapping})
    return feed


def sendable_feed(code: str, actor) -> Feed:
    """The active feed ``code`` if ``actor`` may send to it, else ``Feed.DoesNotExist`` (→ 404)."""
    return (
        Feed.objects.visible_to(actor, SEND)
        .select_related("owner", "event_type")
        .get(code=code, is_active=True)
    )


def open_batch(feed: Feed, key: str, *, source: str, actor, filename: str = "", file_path: str = ""):
    """``(batch, created)``: the batch of this idempotency key, created if new."""
    if not Feed.objects.visible_to(actor, SEND).filter(pk=feed.pk).exists():
        raise PermissionDenied(_("无权向该渠道报送数据"))
    if not key or len(key) > 200:
        raise ValidationError(
            {"idempotency_key": _("幂等键必填，最多 200 个字符 (required, at most 200 characters)")}
        )
    existing = Batch.objects.filter(feed=feed, idempotency_key=key).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            batch = Batch.objects.create(
                feed=feed,
                idempotency_key=key,
                source=source,
                filename=filename[:255],
                file_path=file_path,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:  # the same key sent twice at the same moment
        return Batch.objects.get(feed=feed, idempotency_key=key), False
    batch.feed = feed
    return batch, True


class TooManyRecords(ValidationError):
    """More than ``MAX_API_RECORDS`` in one API batch (the API answers 413)."""


def ingest_records(feed: Feed, key: str, records: list, *, actor) -> tuple[Batch, bool]:
    """The API path: up to 10,000 records; the same key returns the first result and writes nothing.
    The one place where the limit is checked."""
    if len(records) > MAX_API_RECORDS:
        raise TooManyRecords(
            {"records": _("每批最多 %(n)s 条记录 (at most %(n)s records)") % {"n": MAX_API_RECORDS}}
        )
    batch, created = open_batch(feed, key, source=BatchSource.API, actor=actor)
    if batch.status != BatchStatus.DONE:
        batch.feed = feed
        pipeline.run_batch(batch, enumerate(records, start=1), actor=actor)
    return batch, created


def file_key(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def ingest_file(
    feed: Feed,
    path: str | Path,
    *,
    actor,
    key: str = "",
    filename: str = "",
    chunk_size: int = pipeline.CHUNK_SIZE,
    mapping: dict | None = None,
) -> Batch:
    """A CSV/XLSX/JSONL file; the key defaults to the file's SHA-256, so sending a file again changes nothing.
    Calling it again for an interrupted batch resumes it."""
    path = Path(path)
    filename = filename or path.name
    key = key or file_key(path)
    batch, _created = open_batch(
        feed, key, source=BatchSource.FILE, actor=actor, filename=filename, file_path=str(path)
    )
    if batch.status in (BatchStatus.DONE, BatchStatus.FAILED):
        return batch
    batch.feed = feed
    try:
        encoding, rows = open_rows(path, filename)
        if batch.encoding != encoding:
            batch.encoding = encoding
            Batch.objects.filter(pk=batch.pk).update(encoding=encoding)
        pipeline.run_batch(batch, rows, chunk_size=chunk_size, actor=actor, mapping=mapping)
    except FileError as exc:
        pipeline.fail_batch(batch, str(exc), actor=actor)
    return batch


MAX_UPLOAD_BYTES = 2 * 1024**3  # a feed file uploaded on the page (2 GB: several million rows of CSV)
PENDING_PREFIX = "pending-"  # an upload waiting for its preview to be confirmed
PENDING_FOR = datetime.timedelta(days=1)


def discard_stale_uploads() -> int:
    """Delete uploads whose preview was never confirmed (older than ``PENDING_FOR``); how many."""
    cutoff = (timezone.now() - PENDING_FOR).timestamp()
    stale = 0
    for path in upload_dir().glob(f"{PENDING_PREFIX}*"):
        try:  # confirmed meanwhile (renamed to its batch's name): not ours to delete any more
            if path.stat().st_mtime < cutoff:
                path.unlink()
                stale += 1
        except FileNotFoundError:
            continue
    return stale


def upload_dir() -> Path:
    """Where uploaded files wait (private: under MEDIA_ROOT, which no URL serves)."""
    path = Path(settings.MEDIA_ROOT) / "feeds"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_copies(batch: Batch) -> list[Path]:
    """The uploaded copies of a batch's file still on disk (named after the batch when queued)."""
    return sorted(upload_dir().glob(f"{batch.uuid}-*"))


def is_running(batch: Batch) -> bool:
    """A worker holds the batch and its heartbeat is recent."""
    return (
        batch.status == BatchStatus.PROCESSING
        and batch.heartbeat is not None
        and batch.heartbeat >= timezone.now() - pipeline.STALE_AFTER
    )


def queue_file(feed: Feed, path: str | Path, *, actor, filename: str = "") -> tuple[Batch, bool]:
    """Queue an uploaded file for the task worker (``tasks.ingest_upload``): ``(batch, queued)``, the batch
    keyed by the file's SHA-256. The upload becomes a copy named after the batch, ingested with the column
    mapping confirmed now. A file ingested before, or being ingested right now, is not queued again (this
    upload is deleted); one that waits or was interrupted gets another task, which resumes it."""
    path = Path(path)
    batch, _created = open_batch(
        feed, file_key(path), source=BatchSource.FILE, actor=actor, filename=filename or path.name
    )
    if batch.status in (BatchStatus.DONE, BatchStatus.FAILED) or is_running(batch):
        path.unlink(missing_ok=True)
        return batch, False
    copy = upload_dir() / f"{batch.uuid}-{uuid.uuid4().hex[:12]}{path.suffix.lower()}"
    path.rename(copy)
    Batch.objects.filter(pk=batch.pk).update(file_path=str(copy))
    from .tasks import ingest_upload

    ingest_upload.enqueue(batch.pk, str(copy), actor.pk, feed.mapping)
    return batch, True


# --- the "needs fixing" list --------------------------------------------------------------------------


def _fixable(landing: LandingRecord, actor) -> LandingRecord:
    found = (
        LandingRecord.objects.visible_to(actor, SEND)
        .filter(pk=landing.pk, status=LandingStatus.REJECTED)
        .select_related("batch__feed__owner", "batch__feed__event_type")
        .first()
    )
    if found is None:
        raise PermissionDenied(_("无权处理该记录，或该记录无需修正"))
    return found


def canonical_values(
    landing: LandingRecord, validator: RecordValidator | None = None, *, masked: bool = False
) -> dict:
    """The record's fields under their canonical names, as the fixing form shows them (identifiers masked
    with ``masked``, see ``protect.received``)."""
    validator = validator or RecordValidator(landing.batch.feed)
    raw = received(landing.corrected or landing.raw, masked=masked)
    values, _problems = validator.values(raw if isinstance(raw, dict) else {})
    return values


@transaction.atomic
def fix_record(landing: LandingRecord, changes: dict, *, actor, reason: str = "") -> dict:
    """Correct fields of a rejected record and resubmit it. Returns the remaining errors (empty: accepted).

    The raw record is never changed; the corrected version is kept beside it.
    """
    check_reason(reason)
    landing = _fixable(landing, actor)
    feed = landing.batch.feed
    validator = RecordValidator(feed)
    base = received(landing.corrected or landing.raw)
    base = dict(base if isinstance(base, dict) else {})
    base.pop(UNPARSED, None)
    base.pop(UNSTORABLE, None)  # the escaped text stays as it is unless corrected
    before = canonical_values(landing, validator)
    after = {k: v for k, v in changes.items() if before.get(k) != v}
    for field, value in changes.items():
        if field in validator.columns:
            base[validator.columns[field]] = value
    if FORMULA in base:  # a formula column stays rejected until another value is given for it
        given = {validator.columns.get(field) for field in after}
        base[FORMULA] = [c for c in marked_columns(base, FORMULA) if c not in given]
        if not base[FORMULA]:
            del base[FORMULA]
    result = pipeline.ChunkResult()
    valid = pipeline.validate_chunk(validator, [(landing.row_number, base)], result)
    looked_up = (
        pipeline.look_up(feed, valid, result, pipeline.read_known(feed, valid)) if valid else ([], [], {})
    )
    fresh = looked_up[0]
    landing.corrected = protect(base, identifier_columns(validator))  # identifiers never in clear
    still = bool(result.rejected or not fresh and not result.duplicates)
    if still:  # the correction is kept, the record waits on with its remaining errors
        landing.errors = result.rejected.get(landing.row_number, {})
        landing.save(update_fields=["corrected", "errors"])
    else:
        if fresh:
            writes = pipeline.prepare_chunk(landing.batch, looked_up, result)
            pipeline.write_chunk(writes)
            queue_linkage(writes.persons.new)
        landing.status, landing.errors = LandingStatus.FIXED, {}
        landing.resolved_by, landing.resolved, landing.resolution_reason = actor, timezone.now(), reason
        landing.save(
            update_fields=["corrected", "status", "errors", "resolved_by", "resolved", "resolution_reason"]
        )
    record(
        actor,
        AuditAction.UPDATE,
        landing,
        object_repr=f"{feed.code} #{landing.row_number}",
        before={k: before.get(k) for k in after},
        after=after,
        reason=reason,
        extra={"still_rejected": landing.errors} if still else None,
    )
    return landing.errors


@transaction.atomic
def discard_record(landing: LandingRecord, *, actor, reason: str) -> LandingRecord:
    """Give up on a rejected record, saying why (audited); the raw record stays in landing."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("作废须说明原因 (a reason is required)")})
    check_reason(reason.strip())
    landing = _fixable(landing, actor)
    landing.status = LandingStatus.DISCARDED
    landing.resolved_by, landing.resolved, landing.resolution_reason = actor, timezone.now(), reason.strip()
    landing.save(update_fields=["status", "resolved_by", "resolved", "resolution_reason"])
    record(
        actor,
        AuditAction.DELETE,
        landing,
        object_repr=f"{landing.batch.feed.code} #{landing.row_number}",
        reason=reason,
        extra={"errors": landing.errors},
    )
    return landing


def preview(feed: Feed, path: str | Path, filename: str, *, rows: int = 20) -> dict:
    """The first rows of a file with their validation result, for the upload page. Writes nothing."""
    encoding, iterator = open_rows(path, filename)
    validator = RecordValidator(feed)
    shown, columns = [], {}
    for number, raw in iterator:
        columns.update(dict.fromkeys(raw))
        _clean, problems = validator.validate(raw)
        shown.append({"row": number, "raw": raw, "errors": [f"{f}：{m}" for f, _c, m in problems]})
        if len(shown) >= rows:
            break
    return {
        "encoding": encoding,
        "columns": list(columns),
        "rows": shown,
        "fields": validator.fields,
        "mapping": validator.columns,
    }


__all__ = ["PERSON_FIELDS", "discard_record", "fix_record", "ingest_file", "ingest_records", "save_feed"]
