"""Telling people: in the application always, by e-mail and SMS where configured.

``notify`` is the one way any app tells users something. Recipients are users and/or organisations (every
user holding a current role in the organisation, optionally only some roles). Messages carry no person data:
e-mail and SMS leave the closed network's control, so they say what happened and where to look, by number.
"""

import logging

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Organisation, User

from . import sms
from .models import Notification

log = logging.getLogger(__name__)

DISTRICT_OFFICE_TYPE, WORKSTATION_TYPE, POLICE_TYPE = "district_office", "workstation", "police"


def users_of(organisations, roles=None):
    """Active users holding a current role in any of ``organisations`` (optionally only ``roles``): the role,
    the organisation and the dates are conditions on the same assignment."""
    from weibao.accounts.models import RoleAssignment

    current = RoleAssignment.objects.current().filter(organisation__in=list(organisations))
    if roles:
        current = current.filter(role__in=list(roles))
    return User.objects.filter(is_active=True, pk__in=current.values("user_id"))


def notify(
    *,
    subject,
    body="",
    url="",
    kind="",
    users=(),
    organisations=(),
    roles=None,
    escalation=False,
    email=True,
    text_message=False,
) -> list[Notification]:
    """Create one notification per recipient; send e-mail (and SMS if asked) after the transaction commits."""
    recipients = {u.pk: u for u in users if u.is_active}
    if organisations:
        recipients.update({u.pk: u for u in users_of(organisations, roles)})
    created = Notification.objects.bulk_create(
        Notification(recipient=u, kind=kind, subject=subject[:200], body=body, url=url, escalation=escalation)
        for u in recipients.values()
    )
    people = list(recipients.values())
    if email or text_message:
        transaction.on_commit(lambda: _send(people, subject, body, url, email, text_message))
    return created


def notify_organisations(subjects: dict, *, body="", url="", kind="", email=True) -> list[Notification]:
    """``notify(organisations=[org], subject=…)`` for many organisations at once, each with its own subject
    (``{organisation: subject}``): the same recipients and messages, in three queries whatever their number."""
    if not subjects:
        return []
    from weibao.accounts.models import RoleAssignment

    held = (
        RoleAssignment.objects.current()
        .filter(organisation__in=list(subjects))
        .values_list("organisation_id", "user_id")
    )
    users = User.objects.filter(is_active=True).in_bulk({user for _org, user in held})
    people: dict = {org.pk: {} for org in subjects}
    for org, user in held:
        if user in users:
            people[org][user] = users[user]
    created = Notification.objects.bulk_create(
        Notification(recipient=u, kind=kind, subject=subject[:200], body=body, url=url)
        for org, subject in subjects.items()
        for u in people[org.pk].values()
    )
    if email:
        for org, subject in subjects.items():
            to = list(people[org.pk].values())
            if not to:
                continue  # no current staff: nothing to send
            transaction.on_commit(lambda to=to, subject=subject: _send(to, subject, body, url, True, False))
    return created


def workstations(streets) -> dict:
    """``workstation`` for many areas at once: area id → its street workstation (streets only)."""
    ids = [a.pk for a in streets if a is not None and a.level == AreaLevel.STREET]
    found: dict = {}
    for org in Organisation.objects.filter(type__code=WORKSTATION_TYPE, area_id__in=ids).order_by("pk"):
        found.setdefault(org.area_id, org)
    return found


def district_offices(areas) -> dict:
    """``district_office`` for many areas at once: area id → the office of its district."""
    district = {a.pk: d for a in areas if (d := district_id_of(a)) is not None}
    offices: dict = {}
    for org in Organisation.objects.filter(
        type__code=DISTRICT_OFFICE_TYPE, area_id__in=set(district.values())
    ).order_by("pk"):
        offices.setdefault(org.area_id, org)
    return {a: offices[d] for a, d in district.items() if d in offices}


def _send(people, subject, body, url, email, text_message):
    link = f"{settings.SITE_URL.rstrip('/')}{url}" if url else ""
    text = "\n\n".join(part for part in (body, link) if part)
    try:
        if email:
            messages = [(subject, text, None, [u.email]) for u in people if u.email]
            if messages:
                send_mass_mail(messages, fail_silently=False)
        if text_message:
            numbers = [u.phone for u in people if u.phone]
            if numbers:
                sms.get_backend().send(numbers, f"{subject} {link}".strip())
    except Exception:  # the in-app notification exists; a mail server being down must not undo the work
        log.exception("notification delivery failed: %s", subject)


def mark_read(user, ids=None) -> int:
    qs = Notification.objects.visible_to(user).unread()
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


# --- who receives what, by place ----------------------------------------------------------------------


def district_id_of(area) -> int | None:
    """The district ``area`` lies in: a street's parent, a district itself; none for the city or nothing."""
    if area is None:
        return None
    if area.level == AreaLevel.STREET:
        return area.parent_id
    return area.pk if area.level == AreaLevel.DISTRICT else None


def district_of(area):
    """The district (an ``Area``) of ``area``, as ``district_id_of`` finds it."""
    district = district_id_of(area)
    return None if district is None else (area if district == area.pk else area.parent)


def district_office(area) -> Organisation | None:
    """The district minor-protection office responsible for ``area`` (a street or a district)."""
    district = district_id_of(area)
    if district is None:
        return None
    return (
        Organisation.objects.filter(type__code=DISTRICT_OFFICE_TYPE, area_id=district).order_by("pk").first()
    )


def workstation(street) -> Organisation | None:
    """The street workstation (未成年人保护工作站) of ``street``."""
    if street is None or street.level != AreaLevel.STREET:
        return None
    return Organisation.objects.filter(type__code=WORKSTATION_TYPE, area=street).order_by("pk").first()


def district_police(area) -> Organisation | None:
    """The district public-security branch responsible for ``area``."""
    district = district_id_of(area)
    if district is None:
        return None
    return Organisation.objects.filter(type__code=POLICE_TYPE, area_id=district).order_by("pk").first()
