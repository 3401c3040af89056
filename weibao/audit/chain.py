"""The hash chain: how an event's hash is computed, and walking the chain to find the first broken link."""

import base64
import datetime
import hashlib
import hmac
import json
from dataclasses import dataclass

from django.conf import settings

GENESIS = "0" * 64


def chain_key() -> bytes:
    raw = settings.AUDIT_CHAIN_KEY
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        return raw.encode()


def canonical(event) -> bytes:
    """Every stored field except the hash itself, in a fixed order, as compact sorted JSON."""
    payload = [
        event.seq,
        event.at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
        event.actor_id,
        event.actor_username,
        event.ip,
        event.request_id,
        event.action,
        event.object_type,
        event.object_id,
        event.object_repr,
        event.changes,
        event.reason,
        event.extra,
        event.prev_hash,
    ]
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def compute_hash(event, key: bytes | None = None) -> str:
    """The event's HMAC; ``key`` (``chain_key()``) saves reading the setting for each of many events."""
    return hmac.new(key or chain_key(), canonical(event), hashlib.sha256).hexdigest()


@dataclass
class Break:
    seq: int
    reason: str

    def __str__(self):
        return f"event #{self.seq}: {self.reason}"


def verify(batch_size: int = 5000) -> tuple[int, Break | None]:
    """Walk the whole chain in sequence order; return (events checked, first break or None)."""
    from .models import AuditEvent, AuditHead

    expected_seq, expected_prev, checked, last_seq = 1, GENESIS, 0, 0
    while True:
        batch = list(AuditEvent.objects.filter(seq__gte=expected_seq).order_by("seq")[:batch_size])
        if not batch:
            break
        for event in batch:
            if event.seq != expected_seq:
                return checked, Break(
                    expected_seq, f"missing (next present is #{event.seq}): deleted or renumbered"
                )
            if event.prev_hash != expected_prev:
                return checked, Break(
                    event.seq,
                    "previous-hash link does not match: an event before it was altered, removed or reordered",
                )
            if not hmac.compare_digest(event.hash, compute_hash(event)):
                return checked, Break(event.seq, "content does not match its hash: the event was altered")
            expected_prev, expected_seq, last_seq = event.hash, event.seq + 1, event.seq
            checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head and head.seq != last_seq:
        return checked, Break(
            last_seq + 1,
            f"the chain ends at #{last_seq} but the head records #{head.seq}: events at the end were deleted",
        )
    if head and head.seq and head.hash != expected_prev:
        return checked, Break(last_seq, "the last event's hash differs from the recorded head")
    return checked, None
