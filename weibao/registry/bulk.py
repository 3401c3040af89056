"""Set-based writes to the person registry, for bulk sources (department feeds, imports).

``persons_for(entries, organisation_id=…, sensitive=…)`` gives the person of each incoming record, in
order: an existing person when the record's identity document (by keyed blind index) is already known,
else a new person with that document — one per distinct document in the call, so two records of the
same child in one delivery make one person. Every person it returns gets a ``DepartmentLink`` (basis
*sent*) to the sending organisation; with ``sensitive`` the persons are marked sensitive.

Nothing here works row by row through the ORM: one look-up of the known blind indexes, one of the
existing links, then new persons, documents and links written set-wise — ``COPY`` on PostgreSQL (ids
taken from the sequence in one query), ``bulk_create`` elsewhere. ``plan_persons`` decides and makes the
rows ready (``weibao.lib.bulk.Rows``); its ``write`` writes them, so a feed can do the first while the
chunk before is still being written. Plain identifiers never reach this module: callers pass the
ciphertext (``weibao.lib.crypto.encrypt_many``), the blind index and the masked form. The caller owns the
transaction.
"""

import os
import time
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from weibao.lib.bulk import Rows, allocate_ids, is_postgres, pairs_where_in
from weibao.lib.pinyin import name_keys

from .choices import LinkBasis, Sensitivity
from .models import DepartmentLink, IdentityDocument, Person
from .tasks import link_new_persons


class Entry(NamedTuple):
    """One incoming record's person fields; ``index`` empty when it carries no identity document."""

    index: str
    doc_type: str
    number_encrypted: bytes | None
    number_masked: str
    name: str
    kind: str
    sex: str
    birth_date: object  # date or ISO text or None
    street_id: int | None
    address: str
    phone: str


# --- writing many rows ---------------------------------------------------------------------------------


def uuid_hexes(count: int) -> list[str]:
    """``count`` new version-7 UUIDs (RFC 9562) as hex, in increasing order: Unix milliseconds first,
    then a 32-bit counter (in ``rand_a`` and the top of ``rand_b``), then 42 random bits. A unique index
    on them grows at its right-hand edge; random (version-4) keys cost one random index page per row."""
    ms = time.time_ns() // 1_000_000
    head = (ms << 80) | (0x7 << 76) | (0b10 << 62)
    noise = os.urandom(6 * count)
    mask = (1 << 42) - 1
    from_bytes = int.from_bytes
    return [
        f"{head | ((i >> 20) & 0xFFF) << 64 | (i & 0xFFFFF) << 42 | from_bytes(noise[6 * i : 6 * i + 6]) & mask:032x}"
        for i in range(count)
    ]


# --- persons -------------------------------------------------------------------------------------------


def known_persons(indexes) -> dict[str, int]:
    """Blind index → person, for the indexes already in the registry (the latest document wins)."""
    indexes = [i for i in set(indexes) if i]
    return dict(
        pairs_where_in(
            IdentityDocument.objects.order_by("pk"), "number_index", indexes, "number_index", "person_id"
        )
    )


class PersonWrites(NamedTuple):
    """What ``plan_persons`` decided for a list of entries — the person of each, in order — and the rows that
    make it so, ready to be written (``write``) in the caller's transaction, possibly by another thread."""

    persons: list[int]
    new: list[int]  # persons created
    existing: set[int]  # persons already in the registry
    sensitive: bool
    rows: list[Rows]  # persons, identity documents, department links

    def write(self) -> None:
        for rows in self.rows:
            rows.write()
        if self.sensitive and self.existing:
            Person.all_objects.filter(pk__in=self.existing).exclude(sensitivity=Sensitivity.SENSITIVE).update(
                sensitivity=Sensitivity.SENSITIVE
            )


def plan_persons(
    entries: list[Entry],
    *,
    organisation_id: int,
    sensitive: bool = False,
    known: dict[str, int] | None = None,
) -> PersonWrites:
    """Decide the person of each entry (existing by blind index, else new with its document), linked to
    ``organisation_id`` — see the module docstring — and make the rows ready. New persons' keys are taken now
    (``allocate_ids``). ``known``: ``known_persons`` of the entries, when the caller has read it already.
    The links already there are read now; one written by someone else before ``write`` is left as it is (a
    feed plans chunk N while chunk N−1, perhaps about the same child, is being stored)."""
    if known is None:
        known = known_persons(e.index for e in entries)
    now = timezone.now()
    stamp = now.isoformat() if is_postgres() else now
    level = Sensitivity.SENSITIVE if sensitive else Sensitivity.NORMAL
    person_of: list = [0] * len(entries)
    new_rows, new_entries = [], []
    pending: dict[str, int] = {}  # blind index → position in new_rows (repeats inside the call)
    pinyin_cache: dict[str, tuple[str, str]] = {}
    for pos, e in enumerate(entries):
        index = e.index
        if index:
            hit = known.get(index)
            if hit is not None:
                person_of[pos] = hit
                continue
            at = pending.get(index)
            if at is not None:
                person_of[pos] = ~at
                continue
            pending[index] = len(new_rows)
        keys = pinyin_cache.get(e.name)
        if keys is None:
            keys = pinyin_cache[e.name] = name_keys(e.name)
        person_of[pos] = ~len(new_rows)
        new_rows.append(
            (e.kind, e.name, keys[0], keys[1], e.sex, e.birth_date, e.street_id, e.address, e.phone, level,
             stamp, stamp)
        )  # fmt: skip
        new_entries.append(e)
    new_ids = allocate_ids(Person, len(new_rows))
    persons_rows = Rows(
        Person,
        ["id", "uuid", "kind", "name", "name_pinyin", "name_initials", "sex", "birth_date", "street_id",
         "address", "phone", "sensitivity", "created", "updated"],
        [(pk, h, *row) for pk, h, row in zip(new_ids, uuid_hexes(len(new_rows)), new_rows, strict=True)],
    )  # fmt: skip
    documents = Rows(
        IdentityDocument,
        ["person_id", "type", "number_encrypted", "number_index", "number_masked", "is_valid", "created"],
        [
            (pk, e.doc_type, e.number_encrypted, e.index, e.number_masked, True, stamp)
            for pk, e in zip(new_ids, new_entries, strict=True)
            if e.index
        ],
    )
    persons = [new_ids[~p] if p < 0 else p for p in person_of]
    existing = set(known.values()) & set(persons)
    linked = set()
    if existing:
        sent = DepartmentLink.objects.filter(organisation_id=organisation_id, basis=LinkBasis.SENT)
        linked.update(p for (p,) in pairs_where_in(sent, "person_id", existing, "person_id"))
    links = Rows(
        DepartmentLink,
        ["person_id", "organisation_id", "basis", "created"],
        [(pk, organisation_id, LinkBasis.SENT, stamp) for pk in dict.fromkeys(persons) if pk not in linked],
        skip_conflicts=True,  # a link written meanwhile (a report, another feed of the sender) stays as it is
    )
    return PersonWrites(persons, new_ids, existing, sensitive, [persons_rows, documents, links])


def persons_for(
    entries: list[Entry],
    *,
    organisation_id: int,
    sensitive: bool = False,
    link: bool = True,
    known: dict[str, int] | None = None,
) -> list[int]:
    """The person id of each entry (``plan_persons``), written now. New persons are queued for probabilistic
    linkage when the transaction commits, unless ``link`` is false (a feed batch queues its new persons once,
    at its end)."""
    plan = plan_persons(entries, organisation_id=organisation_id, sensitive=sensitive, known=known)
    plan.write()
    if link:
        queue_linkage(plan.new)
    return plan.persons


def queue_linkage(persons: list[int]) -> None:
    """Probabilistic linkage of new persons, in the background once the transaction commits."""
    if persons:
        ids = list(persons)
        transaction.on_commit(lambda: link_new_persons.enqueue(ids))


__all__ = [
    "Entry",
    "PersonWrites",
    "known_persons",
    "persons_for",
    "plan_persons",
    "queue_linkage",
    "uuid_hexes",
]
