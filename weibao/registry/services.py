"""Writes of the registry: validated, re-checked against the actor's scope and audited in one transaction."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from weibao.accounts import access
from weibao.audit.models import AuditAction
from weibao.audit.services import record, snapshot

from .models import Person

PERSON_FIELDS = ["name", "sex", "birth_date", "street", "sensitivity"]


@transaction.atomic
def save_person(person: Person, *, actor, reason: str = "") -> Person:
    creating = person.pk is None
    before = {}
    if not creating:
        current = Person.objects.visible_to(actor, access.CHANGE).filter(pk=person.pk).first()
        if current is None:
            raise PermissionDenied(_("无权修改该人员"))
        before = snapshot(current, PERSON_FIELDS)
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
