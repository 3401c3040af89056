"""``record`` — the only way anything enters the audit trail."""

from django.db import transaction
from django.utils import timezone

from weibao.lib.masking import mask_id_number

from .chain import compute_hash
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


def record(
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
    """Append one event to the chain, inside the caller's transaction (or its own).

    ``obj`` fills the object fields; ``before``/``after`` are plain dicts of field values.
    """
    if obj is not None:
        object_type = object_type or f"{obj._meta.app_label}.{obj._meta.model_name}"
        object_id = object_id or str(getattr(obj, "uuid", None) or obj.pk)
        object_repr = object_repr or str(obj)[:200]
    ctx = current()
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            at=timezone.now(),
            actor_id=actor_id,
            actor_username=username or (getattr(actor, "username", "") if actor_id else ""),
            ip=ctx.ip,
            request_id=ctx.request_id,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_repr=str(object_repr)[:200],
            changes=diff(before, after) if (before is not None or after is not None) else {},
            reason=reason[:500],
            extra=extra or {},
            prev_hash=head.hash,
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


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
