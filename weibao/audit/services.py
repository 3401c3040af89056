"""``record`` — the only way anything enters the audit trail."""

import json

from django.db import transaction
from django.utils import timezone

from weibao.lib.bulk import insert_rows
from weibao.lib.masking import mask_id_number

from .chain import chain_key, compute_hash
from .context import current
from .models import AuditEvent, AuditHead

# Field names whose values are identifiers: diffs keep them masked.
MASKED_FIELDS = {"id_number", "document_number", "phone", "password", "key_hash", "uscc_secret"}


def _masked(field, value):
    if field in {"password", "key_hash"}:
        return "***" if value else value
    if field in MASKED_FIELDS and isinstance(value, str):
        return mask_id_number(value)
    return value


def diff(before: dict | None, after: dict | None) -> dict:
    """Field-level ``{field: [old, new]}`` for fields that changed, identifiers masked."""
    before, after = before or {}, after or {}
    changes = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if old != new:
            changes[field] = [_masked(field, old), _masked(field, new)]
    return changes


def _event(
    actor,
    action: str,
    obj=None,
    *,
    before=None,
    after=None,
    reason: str = "",
    object_type="",
    object_id="",
    object_repr="",
    extra=None,
    username: str = "",
) -> AuditEvent:
    """An unsaved event without its place in the chain (``seq``, ``prev_hash``, ``hash``)."""
    if obj is not None:
        object_type = object_type or f"{obj._meta.app_label}.{obj._meta.model_name}"
        object_id = object_id or str(getattr(obj, "uuid", None) or obj.pk)
        object_repr = object_repr or str(obj)[:200]
    ctx = current()
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    values = {
        "at": timezone.now(),
        "actor_id": actor_id,
        "actor_username": username or (getattr(actor, "username", "") if actor_id else ""),
        "ip": ctx.ip,
        "request_id": ctx.request_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "object_repr": str(object_repr)[:200],
        "changes": diff(before, after) if (before is not None or after is not None) else {},
        "reason": reason[:500],
        "extra": extra or {},
        "prev_hash": "",
        "hash": "",
    }
    # positional arguments cost about half of keywords when thousands of events are made (``record_many``)
    return AuditEvent(*[values.get(f.attname) for f in AuditEvent._meta.concrete_fields])


COLUMNS = ["seq", "at", "actor_id", "actor_username", "ip", "request_id", "action", "object_type", "object_id",
           "object_repr", "changes", "reason", "extra", "prev_hash", "hash"]  # fmt: skip


def _insert(events: list[AuditEvent]):
    """Many events at once (``lib.bulk.insert_rows``: one COPY on PostgreSQL, ``bulk_create`` elsewhere)."""
    insert_rows(
        AuditEvent,
        COLUMNS,
        [
            tuple(
                json.dumps(v) if c in ("changes", "extra") else v
                for c in COLUMNS
                for v in [getattr(event, c)]
            )
            for event in events
        ],
    )


def _append(events: list[AuditEvent]) -> list[AuditEvent]:
    """Chain ``events`` after the head and insert them: one locked step, however many there are."""
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        seq, prev, key = head.seq, head.hash, chain_key()
        for event in events:
            seq += 1
            event.seq, event.prev_hash = seq, prev
            event.hash = prev = compute_hash(event, key)
        if len(events) == 1:
            events[0].save(force_insert=True)
        elif events:
            _insert(events)
        head.seq, head.hash = seq, prev
        head.save(update_fields=["seq", "hash"])
    return events


def record(actor, action: str, obj=None, **fields) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction (or its own).

    ``obj`` fills the object fields; ``before``/``after`` are plain dicts of field values; further keywords:
    ``reason``, ``object_type``, ``object_id``, ``object_repr``, ``extra``, ``username``.
    """
    return _append([_event(actor, action, obj, **fields)])[0]


def record_many(entries) -> list[AuditEvent]:
    """Append many events in one locked step (bulk insert), each exactly as ``record`` would write it.

    ``entries``: iterable of ``(actor, action, obj, fields)`` with ``fields`` the keywords of ``record``.
    """
    return _append([_event(actor, action, obj, **fields) for actor, action, obj, fields in entries])


def snapshot(obj, fields) -> dict:
    """Plain values of ``fields`` for a diff (foreign keys by their string form)."""
    values = {}
    for name in fields:
        value = getattr(obj, name)
        if hasattr(value, "pk"):
            value = str(value)
        elif value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = str(value)
        values[name] = value
    return values
