"""Writes of the registry: validated, re-checked against the actor's scope and audited in one transaction."""

import uuid as uuid_module

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from weibao.accounts import access
from weibao.audit.models import AuditAction
from weibao.audit.services import record, snapshot
from weibao.lib.bulk import IdSet, drop_temp_table, insert_rows, temp_table
from weibao.lib.checksums import id_birth_date, validate_id_number
from weibao.lib.crypto import blind_index, decrypt, encrypt
from weibao.lib.masking import mask_id_number
from weibao.lib.pinyin import name_keys

from .choices import DocumentType
from .models import (
    Category,
    Guardianship,
    IdentityDocument,
    MatchCandidate,
    MergeRecord,
    Person,
    PersonCategory,
)

PERSON_FIELDS = ["kind", "name", "sex", "birth_date", "street", "address", "phone", "sensitivity"]


def normalise_document(doc_type: str, number: str) -> tuple[str, bool]:
    """(normalised number, passes its check). Mainland ID numbers are checked per GB 11643;
    other documents only lose spaces and are upper-cased. Raises ``ValueError`` with the reason."""
    if doc_type not in DocumentType.values:
        raise ValueError(_("未知的证件类型“%(t)s”") % {"t": doc_type})
    if doc_type == DocumentType.MAINLAND_ID:
        return validate_id_number(number), True
    cleaned = "".join(number.split()).upper()
    if not cleaned:
        raise ValueError(_("证件号码为空"))
    if len(cleaned) > 30:
        raise ValueError(_("证件号码过长（最多 30 位）"))
    return cleaned, True


def document_fields(doc_type: str, number: str) -> dict:
    """The stored form of a document number: ciphertext, blind index, masked display."""
    return {
        "type": doc_type,
        "number_encrypted": encrypt(number),
        "number_index": blind_index(number, doc_type),
        "number_masked": mask_id_number(number),
    }


def find_by_document(doc_type: str, number: str):
    """Documents with exactly this number (through the blind index; nothing is decrypted)."""
    normalised, _valid = normalise_document(doc_type, number)
    return IdentityDocument.objects.filter(type=doc_type, number_index=blind_index(normalised, doc_type))


@transaction.atomic
def save_person(person: Person, *, actor, reason: str = "") -> Person:
    creating = person.pk is None
    before = {}
    if not creating:
        current = Person.objects.visible_to(actor, access.CHANGE).filter(pk=person.pk).first()
        if current is None:
            raise PermissionDenied(_("无权修改该人员"))
        before = snapshot(current, PERSON_FIELDS)
    person.name = " ".join(person.name.split())
    person.name_pinyin, person.name_initials = name_keys(person.name)
    person.full_clean()
    person.save()
    if not Person.objects.visible_to(actor, access.CHANGE).filter(pk=person.pk).exists():
        raise PermissionDenied(_("该人员不在您的管辖范围内"))
    record(
        actor,
        AuditAction.CREATE if creating else AuditAction.UPDATE,
        person,
        before=before,
        after=snapshot(person, PERSON_FIELDS),
        reason=reason,
    )
    return person


@transaction.atomic
def add_document(person: Person, doc_type: str, number: str, *, actor, reason: str = "") -> IdentityDocument:
    """Attach an identity document; a mainland ID must agree with the person's birth date."""
    if not Person.objects.visible_to(actor, access.CHANGE).filter(pk=person.pk).exists():
        raise PermissionDenied(_("无权修改该人员"))
    try:
        normalised, valid = normalise_document(doc_type, number)
    except ValueError as exc:
        raise ValidationError({"number": str(exc)}) from None
    if (
        doc_type == DocumentType.MAINLAND_ID
        and person.birth_date
        and id_birth_date(normalised) != person.birth_date
    ):
        raise ValidationError({"number": _("身份证号码中的出生日期与登记的出生日期不一致")})
    fields = document_fields(doc_type, normalised)
    if IdentityDocument.objects.filter(
        person=person, type=doc_type, number_index=fields["number_index"]
    ).exists():
        raise ValidationError({"number": _("该人员已登记此证件")})
    try:
        with transaction.atomic():  # a double submit passes the check above twice: the constraint decides
            document = IdentityDocument.objects.create(person=person, is_valid=valid, **fields)
    except IntegrityError:
        raise ValidationError({"number": _("该人员已登记此证件")}) from None
    record(
        actor,
        AuditAction.CREATE,
        document,
        object_repr=f"{person} · {document}",
        after={"type": doc_type, "document_number": normalised},
        reason=reason,
    )
    return document


def reveal_document(document: IdentityDocument, *, actor, reason: str = "") -> str:
    """The whole number, for roles allowed to see it; every reveal is an audit event."""
    person = Person.objects.visible_to(actor).filter(pk=document.person_id).first()
    if person is None or not access.may_see_full_id(actor, person):
        raise PermissionDenied(_("无权查看完整证件号码"))
    number = decrypt(document.number_encrypted)
    record(
        actor,
        AuditAction.VIEW_FULL_ID,
        person,
        object_repr=f"{person} · {document.get_type_display()}",
        reason=reason,
    )
    return number


def _guardianship_exists(guardianship: Guardianship) -> bool:
    """The same guardian of the same minor in the same relation since the same day — or, both without a
    "since", at all: the constraint ``guardianship_unique`` treats two empty days as different."""
    return Guardianship.objects.filter(
        minor_id=guardianship.minor_id,
        guardian_id=guardianship.guardian_id,
        relation=guardianship.relation,
        **({"since": guardianship.since} if guardianship.since else {"since__isnull": True}),
    ).exists()


@transaction.atomic
def add_guardianship(guardianship: Guardianship, *, actor, reason: str = "") -> Guardianship:
    for who in (guardianship.minor, guardianship.guardian):
        if not Person.objects.visible_to(actor, access.CHANGE).filter(pk=who.pk).exists():
            raise PermissionDenied(_("无权修改该人员"))
    if guardianship.minor_id == guardianship.guardian_id:
        raise ValidationError({"guardian": _("监护人不能是本人")})
    guardianship.full_clean(validate_constraints=False)  # the unique rule: below, naming the field
    # Guardians of one minor are added one at a time (the minor's row locked), so that two submits at once
    # cannot both pass the check below — the only guard when "since" is empty.
    Person.objects.select_for_update().filter(pk=guardianship.minor_id).first()
    already = _("该监护人已以此关系登记 (this guardian is already recorded in this relation)")
    if _guardianship_exists(guardianship):
        raise ValidationError({"guardian": already})
    try:
        with transaction.atomic():  # should the check still be passed twice, the constraint decides
            guardianship.save()
    except IntegrityError:
        raise ValidationError({"guardian": already}) from None
    record(
        actor,
        AuditAction.CREATE,
        guardianship,
        reason=reason,
        after={
            "relation": guardianship.relation,
            "guardian": str(guardianship.guardian),
            "since": str(guardianship.since or ""),
            "until": str(guardianship.until or ""),
        },
    )
    return guardianship


@transaction.atomic
def add_category(entry: PersonCategory, *, actor, reason: str = "") -> PersonCategory:
    """Record a category; a sensitive category makes the person a sensitive record."""
    person = entry.person
    if not Person.objects.visible_to(actor, access.CHANGE).filter(pk=person.pk).exists():
        raise PermissionDenied(_("无权修改该人员"))
    if entry.until and entry.since and entry.until < entry.since:
        raise ValidationError({"until": _("终止日期不能早于起始日期")})
    entry.full_clean()
    entry.save()
    if entry.category.is_sensitive and person.sensitivity != "sensitive":
        Person.objects.filter(pk=person.pk).update(sensitivity="sensitive")
    record(
        actor,
        AuditAction.CREATE,
        entry,
        reason=reason,
        after={
            "category": entry.category.code,
            "since": str(entry.since or ""),
            "until": str(entry.until or ""),
        },
    )
    return entry


@transaction.atomic
def save_category(category: Category, *, actor) -> Category:
    """Create or edit an entry of the person-category list (city office or system administrators)."""
    if not access.can_configure_catalogues(actor):
        raise PermissionDenied(_("无权维护人员类别"))
    fields = ["code", "name", "name_en", "description", "is_sensitive", "is_active", "sort_order"]
    before = snapshot(Category.objects.get(pk=category.pk), fields) if category.pk else {}
    category.full_clean()
    category.save()
    record(
        actor,
        AuditAction.UPDATE if before else AuditAction.CREATE,
        category,
        before=before,
        after=snapshot(category, fields),
    )
    return category


def _person_references():
    """Every foreign key to Person in the project (this app's and later apps'), except the merge bookkeeping."""
    skip = {
        (MergeRecord, "survivor"),
        (MergeRecord, "absorbed"),
        (Person, "merged_into"),
        (MatchCandidate, "person"),
        (MatchCandidate, "other"),
    }
    for rel in Person._meta.related_objects:
        if rel.many_to_many or not rel.field.concrete:
            continue
        if (rel.related_model, rel.field.name) in skip:
            continue
        yield rel.related_model, rel.field.name


def _move_rows(model, field, source, target) -> list[int]:
    """Re-point ``model.field`` from source to target; rows that would duplicate one the target already
    has (a unique constraint says so) stay where they are. Returns the moved primary keys."""
    rows = model._base_manager.filter(**{field: source})
    pks = list(rows.values_list("pk", flat=True))
    try:
        with transaction.atomic():
            rows.update(**{field: target})
        return pks
    except IntegrityError:
        moved = []
        for pk in pks:
            try:
                with transaction.atomic():
                    model._base_manager.filter(pk=pk).update(**{field: target})
                moved.append(pk)
            except IntegrityError:
                continue
        return moved


@transaction.atomic
def merge_persons(survivor: Person, absorbed: Person, *, actor, reason: str) -> MergeRecord:
    """Make two persons one: every row that pointed at ``absorbed`` now points at ``survivor``.

    The absorbed person stays, hidden, with ``merged_into`` set; the moved rows are listed in the merge
    record so that ``split_merge`` restores the earlier state exactly.
    """
    if not reason.strip():
        raise ValidationError({"reason": _("合并须填写事由")})
    if survivor.pk == absorbed.pk:
        raise ValidationError({"other": _("不能与本人合并")})
    changeable = Person.objects.visible_to(actor, access.CHANGE)
    if changeable.filter(pk__in=[survivor.pk, absorbed.pk]).count() != 2:
        raise PermissionDenied(_("无权合并这两人"))

    return _merge(survivor, absorbed, actor=actor, reason=reason)


def _merge(survivor: Person, absorbed: Person, *, actor, reason: str) -> MergeRecord:
    def valid_ids(person):
        docs = IdentityDocument.objects.filter(person=person, type=DocumentType.MAINLAND_ID, is_valid=True)
        return set(docs.values_list("number_index", flat=True))

    survivor_ids, absorbed_ids = valid_ids(survivor), valid_ids(absorbed)
    if survivor_ids and absorbed_ids and not survivor_ids & absorbed_ids:
        raise ValidationError({"other": _("两人的身份证号码均有效且不同，不能合并（可能是双胞胎）")})
    moved = {}
    for model, field in _person_references():
        pks = _move_rows(model, field, absorbed, survivor)
        if pks:
            moved[f"{model._meta.label_lower}.{field}"] = pks
    moved["_survivor_sensitivity"] = survivor.sensitivity
    Person.all_objects.filter(pk=absorbed.pk).update(merged_into=survivor)
    if absorbed.sensitivity == "sensitive":
        Person.all_objects.filter(pk=survivor.pk).update(sensitivity="sensitive")
    merge = MergeRecord.objects.create(
        survivor=survivor, absorbed=absorbed, moved=moved, reason=reason, merged_by=actor
    )
    record(
        actor,
        AuditAction.MERGE,
        survivor,
        reason=reason,
        extra={
            "absorbed": str(absorbed.uuid),
            "merge": str(merge.uuid),
            "moved": {k: len(v) for k, v in moved.items()},
        },
    )
    return merge


@transaction.atomic
def split_merge(merge: MergeRecord, *, actor, reason: str) -> Person:
    """Undo a merge: the absorbed person comes back with exactly the rows that were moved from it."""
    from django.apps import apps
    from django.utils import timezone

    if not reason.strip():
        raise ValidationError({"reason": _("拆分须填写事由")})
    if merge.split_at:
        raise ValidationError({"reason": _("该合并已被拆分")})
    if not Person.objects.visible_to(actor, access.CHANGE).filter(pk=merge.survivor_id).exists():
        raise PermissionDenied(_("无权拆分"))
    for key, pks in merge.moved.items():
        if key == "_survivor_sensitivity":
            Person.all_objects.filter(pk=merge.survivor_id).update(sensitivity=pks)
            continue
        app_label, model_name, field = key.split(".")
        apps.get_model(app_label, model_name)._base_manager.filter(pk__in=pks).update(
            **{field: merge.absorbed_id}
        )
    Person.all_objects.filter(pk=merge.absorbed_id).update(merged_into=None)
    merge.split_at, merge.split_by, merge.split_reason = timezone.now(), actor, reason
    merge.save(update_fields=["split_at", "split_by", "split_reason"])
    record(
        actor,
        AuditAction.SPLIT,
        merge.survivor,
        reason=reason,
        extra={"restored": str(merge.absorbed.uuid), "merge": str(merge.uuid)},
    )
    return merge.absorbed


@transaction.atomic
def decide_candidate(candidate: MatchCandidate, decision: str, *, actor, reason: str = "") -> MatchCandidate:
    """A reviewer's judgement on a pair: same child (merge), not the same, or skip. Kept as a label."""
    from django.utils import timezone

    if decision not in {
        MatchCandidate.Status.SAME,
        MatchCandidate.Status.DIFFERENT,
        MatchCandidate.Status.SKIPPED,
    }:
        raise ValidationError({"decision": _("未知的决定")})
    visible = Person.objects.visible_to(actor, access.CHANGE)
    if visible.filter(pk__in=[candidate.person_id, candidate.other_id]).count() != 2:
        raise PermissionDenied(_("无权复核该匹配"))
    if decision == MatchCandidate.Status.SAME:
        # ``person`` is the newer record, ``other`` the one already in the registry: the registry's survives
        merge_persons(candidate.other, candidate.person, actor=actor, reason=reason or _("复核确认为同一人"))
    candidate.status, candidate.decided_by, candidate.decided_at = decision, actor, timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at"])
    record(
        actor,
        AuditAction.REVIEW,
        candidate,
        object_repr=str(candidate)[:200],
        reason=reason,
        after={"status": decision, "match_probability": candidate.match_probability},
    )
    return candidate


def review_precision() -> dict:
    """Of the pairs people decided (not skipped), how many the model was right about at each threshold."""
    decided = MatchCandidate.objects.exclude(
        status__in=[MatchCandidate.Status.PENDING, MatchCandidate.Status.SKIPPED]
    )
    total = decided.count()
    same = decided.filter(status=MatchCandidate.Status.SAME).count()
    return {"decided": total, "same": same, "precision": same / total if total else None}


@transaction.atomic
def auto_merge(
    survivor: Person, absorbed: Person, *, probability: float, model_version: str, actor
) -> MergeRecord:
    """The linkage engine's merge: no reviewer, so the reason records the model and its score."""
    return _merge(survivor, absorbed, actor=actor, reason=_auto_merge_reason(model_version, probability))


def _auto_merge_reason_template() -> str:
    return _("自动匹配（模型 %(v)s，概率 %(p).3f）")


def _auto_merge_reason(model_version: str, probability: float) -> str:
    return _auto_merge_reason_template() % {"v": model_version or "prior", "p": probability}


def _valid_id_sets(ids: IdSet) -> dict[int, set]:
    """Blind indexes of each person's valid mainland IDs (the twin rule of ``_merge``)."""
    out = {}
    for q in ids.filters("person_id"):
        docs = IdentityDocument.objects.filter(q, type=DocumentType.MAINLAND_ID, is_valid=True).order_by()
        for person_id, index in docs.values_list("person_id", "number_index"):
            out.setdefault(person_id, set()).add(index)
    return out


class PersonRef:
    """What the bulk merge needs of a person, read as values rather than as a model instance: primary key,
    uuid, sensitivity and name (``str()`` gives the name, as ``str(Person)`` does)."""

    __slots__ = ("pk", "uuid", "sensitivity", "name")

    FIELDS = ("pk", "uuid", "sensitivity", "name")  # ``values_list(*PersonRef.FIELDS)``

    def __init__(self, pk, uuid, sensitivity, name):
        self.pk, self.uuid, self.sensitivity, self.name = pk, uuid, sensitivity, name

    def __str__(self):
        return self.name


class _Unsupported(Exception):
    """A unique constraint the bulk path does not model (expressions, nulls not distinct, a condition on the
    person field itself)."""


def _unique_keys(model, field_names) -> list[tuple[tuple[str, ...], Q | None]]:
    """(attnames, condition) of every unique constraint of ``model`` that includes one of the person fields.

    A condition (e.g. "one *open* alert per rule and person") must not read a person field: a merge does not
    change which rows meet it, so it is evaluated once, before the moves.
    """
    from django.db.models import UniqueConstraint

    names = set(field_names)
    keys = [(tuple(fields), None) for fields in model._meta.unique_together]
    keys += [
        ((f.name,), None)
        for f in model._meta.concrete_fields
        if f.unique and (not f.primary_key or f.name in names)  # a person as primary key (RiskSummary)
    ]
    for constraint in model._meta.constraints:
        if not isinstance(constraint, UniqueConstraint) or not set(constraint.fields) & names:
            if isinstance(constraint, UniqueConstraint) and constraint.contains_expressions:
                raise _Unsupported(f"{model._meta.label}: {constraint.name}")
            continue
        condition = constraint.condition
        reads_person = condition is not None and any(
            isinstance(leaf, tuple) and leaf[0].split("__")[0] in names for leaf in condition.flatten()
        )
        if constraint.contains_expressions or constraint.nulls_distinct is False or reads_person:
            raise _Unsupported(f"{model._meta.label}: {constraint.name}")
        keys.append((tuple(constraint.fields), condition))
    attname = {f.name: f.attname for f in model._meta.concrete_fields}
    return [(tuple(attname[n] for n in key), cond) for key, cond in keys if set(key) & names]


class AutoMergeBatch:
    """The linkage engine's auto-merges of one batch, applied together with the same end state as calling
    ``auto_merge`` for each pair in the order they were added: the same rows moved (rows a unique constraint
    keeps on the absorbed person stay there), the same ``MergeRecord`` per pair (so ``split_merge`` restores
    exactly), ``merged_into`` and sensitivity, one chained ``MERGE`` audit event per pair.

    The per-pair merges are simulated in memory on the rows that point at the persons involved (read once per
    foreign key), then written set-based: one UPDATE per foreign key from a (row, new person) mapping, merge
    records and audit events in bulk. Should the database still refuse the write (a constraint the simulation
    does not model, a row changed meanwhile), the batch falls back to the per-pair path in the same order.
    """

    def __init__(self, *, actor, model_version: str, person_ids=()):
        self.actor, self.model_version = actor, model_version
        with IdSet(person_ids) as ids:
            self.valid_ids = _valid_id_sets(ids)
        self.plan = []  # (survivor, absorbed, probability, survivor's sensitivity, absorbed's sensitivity)

    def add(self, survivor, absorbed, probability: float) -> bool:
        """Plan one merge of two persons (``Person`` or ``PersonRef``); False (nothing planned) where
        ``_merge`` would refuse it: both persons — with what they absorbed earlier in the batch — hold valid
        mainland IDs and none agrees (twins)."""
        kept, given = self.valid_ids.get(survivor.pk, set()), self.valid_ids.get(absorbed.pk, set())
        if kept and given and not kept & given:
            return False
        self.valid_ids[survivor.pk] = kept | given
        self.plan.append((survivor, absorbed, probability, survivor.sensitivity, absorbed.sensitivity))
        return True

    @transaction.atomic
    def apply(self) -> list[int]:
        """Apply the planned merges; returns the ids of their merge records, in the order they were added."""
        if not self.plan:
            return []
        try:
            with transaction.atomic():
                return self._apply_bulk()
        except (IntegrityError, _Unsupported):
            return self._apply_per_pair()

    def _apply_per_pair(self) -> list[int]:
        merges = []
        for survivor, absorbed, probability, *_sensitivity in self.plan:
            merge = _merge(
                Person.all_objects.get(pk=survivor.pk),
                Person.all_objects.get(pk=absorbed.pk),
                actor=self.actor,
                reason=_auto_merge_reason(self.model_version, probability),
            )
            merges.append(merge.pk)
        return merges

    def _apply_bulk(self) -> list[int]:
        with IdSet(p.pk for s, a, *_ in self.plan for p in (s, a)) as involved:
            return self._apply_bulk_over(involved)

    def _apply_bulk_over(self, involved: IdSet) -> list[int]:
        from weibao.audit.services import record_many

        by_model = {}
        for model, field in _person_references():
            by_model.setdefault(model, []).append(field)
        # the rows pointing at an involved person, per model: {pk: {attname: value}}
        rows, uniques, original, applies = {}, {}, {}, {}

        def bound_by(model, key, pk) -> bool:
            return pk in applies[(model, key)] if (model, key) in applies else True

        for model, fields in by_model.items():
            attnames = [model._meta.get_field(f).attname for f in fields]
            keyed = _unique_keys(model, fields)
            uniques[model] = [key for key, _cond in keyed]
            columns = sorted({*attnames, *(a for key in uniques[model] for a in key)})
            found = {}
            for attname in attnames:
                for q in involved.filters(attname):
                    for pk, *values in model._base_manager.filter(q).order_by().values_list("pk", *columns):
                        found[pk] = dict(zip(columns, values, strict=True))
            rows[model] = found
            original[model] = {pk: {a: v[a] for a in attnames} for pk, v in found.items()}
            for key, cond in keyed:  # the rows a conditional constraint applies to (None: all)
                if cond is not None:
                    with IdSet(found) as found_ids:
                        applies[(model, key)] = {
                            pk
                            for q in found_ids.filters("pk")
                            for pk in model._base_manager.filter(cond, q).values_list("pk", flat=True)
                        }
        # what each unique constraint already holds among those rows
        taken = {
            (model, key): {
                tuple(v[a] for a in key) for pk, v in rows[model].items() if bound_by(model, key, pk)
            }
            for model in rows
            for key in uniques[model]
        }

        references = [
            (model, model._meta.get_field(field).attname, f"{model._meta.label_lower}.{field}")
            for model, fields in by_model.items()
            for field in fields
        ]
        holding = {}  # (model, attname) → {person pk: {row pks}}
        held_in = {}  # person pk → the references (in ``references`` order) that point at it
        for n, (model, attname, _label) in enumerate(references):
            index = holding[(model, attname)] = {}
            for pk, row in rows[model].items():
                index.setdefault(row[attname], set()).add(pk)
                held_in.setdefault(row[attname], set()).add(n)

        def free(model, pk, attname, target):
            row = rows[model][pk]
            for key in uniques[model]:
                if attname in key and bound_by(model, key, pk):
                    value = tuple(target if a == attname else row[a] for a in key)
                    if None not in value and value in taken[(model, key)]:
                        return False
            return True

        def move(model, pk, attname, target):
            row = rows[model][pk]
            keys = [key for key in uniques[model] if attname in key and bound_by(model, key, pk)]
            for key in keys:
                taken[(model, key)].discard(tuple(row[a] for a in key))
            holding[(model, attname)][row[attname]].discard(pk)
            holding[(model, attname)].setdefault(target, set()).add(pk)
            row[attname] = target
            for key in keys:
                taken[(model, key)].add(tuple(row[a] for a in key))

        reason_template = _auto_merge_reason_template()
        records, sensitive = [], set()  # records: (survivor, absorbed, moved, reason, uuid)
        for survivor, absorbed, probability, kept_sensitivity, given_sensitivity in self.plan:
            moved = {}
            for n in sorted(held_in.get(absorbed.pk, ())):
                model, attname, label = references[n]
                held = holding[(model, attname)].get(absorbed.pk)
                if not held:
                    continue
                pks = []
                for pk in sorted(held):
                    if free(model, pk, attname, survivor.pk):
                        move(model, pk, attname, survivor.pk)
                        pks.append(pk)
                if pks:
                    moved[label] = pks
                    held_in.setdefault(survivor.pk, set()).add(n)
            moved["_survivor_sensitivity"] = kept_sensitivity
            if given_sensitivity == "sensitive":
                sensitive.add(survivor.pk)
            reason = reason_template % {"v": self.model_version or "prior", "p": probability}
            records.append((survivor, absorbed, moved, reason, uuid_module.uuid4()))

        for model, attname, _label in references:
            changes = [
                (pk, row[attname])
                for pk, row in rows[model].items()
                if row[attname] != original[model][pk][attname]
            ]
            _update_by_pk(model, attname, changes)
        _update_by_pk(Person, "merged_into_id", [(a.pk, s.pk) for s, a, *_ in self.plan])
        if sensitive:
            Person.all_objects.filter(pk__in=sorted(sensitive)).update(sensitivity="sensitive")
        ids = _insert_merge_records(records, self.actor)
        person_type = f"{Person._meta.app_label}.{Person._meta.model_name}"
        record_many(
            (
                self.actor,
                AuditAction.MERGE,
                None,
                {
                    "object_type": person_type,
                    "object_id": str(survivor.uuid),
                    "object_repr": str(survivor)[:200],
                    "reason": reason,
                    "extra": {
                        "absorbed": str(absorbed.uuid),
                        "merge": str(merge_uuid),
                        "moved": {k: len(v) for k, v in moved.items()},
                    },
                },
            )
            for survivor, absorbed, moved, reason, merge_uuid in records
        )
        return ids


def _insert_merge_records(records, actor) -> list[int]:
    """Insert the merge records ``(survivor, absorbed, moved, reason, uuid)`` in one COPY on PostgreSQL
    (``lib.bulk.insert_rows``); returns their ids."""
    import json

    from django.utils import timezone

    now = timezone.now()
    columns = [
        "uuid",
        "survivor_id",
        "absorbed_id",
        "moved",
        "reason",
        "merged_by_id",
        "merged_at",
        "split_reason",
    ]
    rows = [
        (merge_uuid, survivor.pk, absorbed.pk, json.dumps(moved), reason, actor.pk, now, "")
        for survivor, absorbed, moved, reason, merge_uuid in records
    ]
    return insert_rows(MergeRecord, columns, rows, with_ids=True)


def _update_by_pk(model, attname, changes, chunk=5000):
    """Set ``attname`` per row: ``changes`` is [(pk, value)], values integers (person ids). On PostgreSQL the
    mapping goes to a temporary table by one COPY, then one UPDATE … FROM it; elsewhere one UPDATE per
    distinct value and chunk of 5,000 rows."""
    from django.db import connection

    if not changes:
        return
    if connection.vendor == "postgresql":
        table, column = model._meta.db_table, model._meta.get_field(attname).column
        t, c, k = (connection.ops.quote_name(n) for n in (table, column, model._meta.pk.column))
        mapping = temp_table(
            "k bigint PRIMARY KEY, v bigint", text="".join(f"{pk}\t{v}\n" for pk, v in sorted(changes))
        )
        with connection.cursor() as cursor:
            # the ``ANY`` makes PostgreSQL probe the primary key per row (a join alone read the whole table)
            cursor.execute(
                f"UPDATE {t} SET {c} = m.v FROM {mapping} AS m "  # noqa: S608 — names quoted, the table is ours
                f"WHERE {t}.{k} = m.k AND {t}.{k} = ANY(ARRAY(SELECT k FROM {mapping}))"
            )
        drop_temp_table(mapping)
        return
    for i in range(0, len(changes), chunk):
        by_value = {}
        for pk, value in changes[i : i + chunk]:
            by_value.setdefault(value, []).append(pk)
        for value, pks in by_value.items():
            model._base_manager.filter(pk__in=pks).update(**{attname: value})
