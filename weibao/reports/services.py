"""Writes of mandatory reports: numbered, routed, deadlined, re-checked against the actor and audited.

A later cases app links a report to a case through ``report_for_case`` (read in the actor's change scope).
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.accounts import access
from weibao.accounts.choices import Role
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib import uploads
from weibao.lib.crypto import blind_index, encrypt
from weibao.lib.masking import mask_id_number
from weibao.notifications.services import district_of, district_office, district_police, notify, workstation
from weibao.registry.choices import DocumentType, LinkBasis
from weibao.registry.models import DepartmentLink

from . import conf
from .choices import SENSITIVE_SITUATIONS, Channel, Decision, Status, Step, Urgency
from .models import Report, ReportSequence

ID_KIND = DocumentType.MAINLAND_ID


# --- numbering -----------------------------------------------------------------------------------------


def next_number(now=None) -> str:
    """``BG2026-000123``: sequential per year. The year's row is locked, so concurrent reports never share one."""
    year = timezone.localtime(now or timezone.now()).year
    with transaction.atomic():
        ReportSequence.objects.get_or_create(year=year)
        seq = ReportSequence.objects.select_for_update().get(year=year)
        seq.last += 1
        seq.save(update_fields=["last"])
    return f"BG{year}-{seq.last:06d}"


# --- creating --------------------------------------------------------------------------------------------


def _hours(key):
    return datetime.timedelta(hours=conf.get(key))


def _url(report) -> str:
    return reverse("reports:detail", args=[report.uuid])


def set_minor_id(report: Report, number: str) -> None:
    """Store a (validated, normalised) mainland ID number: encrypted, blind-indexed, masked."""
    report.minor_id_encrypted = encrypt(number)
    report.minor_id_index = blind_index(number, ID_KIND)
    report.minor_id_masked = mask_id_number(number)


def route(report: Report) -> None:
    """Police of the district (for situations that need them) and the workstation of the minor's street, else
    of the street where it happened. The district follows the same street."""
    street = report.minor_street or report.occurred_street
    report.district = district_of(street) or district_of(report.occurred_street)
    report.workstation = workstation(report.minor_street) or workstation(report.occurred_street)
    if report.situation in conf.get("POLICE_SITUATIONS"):
        report.police = district_police(street) or district_police(report.occurred_street)


def set_deadlines(report: Report) -> None:
    urgent = report.urgency == Urgency.URGENT
    base = report.created
    if report.police_id:
        report.ack_due = base + _hours("ACK_HOURS_URGENT" if urgent else "ACK_HOURS")
        report.decision_due = (
            base + _hours("ACK_HOURS_URGENT" if urgent else "ACK_HOURS") + _hours("DECISION_HOURS")
        )
    if report.workstation_id:
        report.contact_due = base + _hours("CONTACT_HOURS_URGENT" if urgent else "CONTACT_HOURS")
        if not report.police_id:  # no police decision to wait for: the workstation answers after its contact
            report.feedback_due = report.contact_due + _hours("FEEDBACK_HOURS")


def link_person(report: Report, *, actor=None) -> None:
    """Exact match on the ID blind index; a new ID becomes a registry person through the bulk helper (which
    queues probabilistic linkage). Without an ID the report stays unlinked until a handler links it.

    Only for staff-channel reports (``create_report`` checks): an identified, accountable reporter. A new
    person and a person made sensitive are audited on the person."""
    if not report.minor_id_index:
        return
    from weibao.registry.bulk import Entry, known_persons, persons_for
    from weibao.registry.choices import Sensitivity
    from weibao.registry.models import Person

    receiver = report.workstation_id or report.police_id
    if receiver is None:
        return
    sensitive = report.situation in SENSITIVE_SITUATIONS
    known = known_persons([report.minor_id_index]).get(report.minor_id_index)
    was = (
        Person.all_objects.filter(pk=known).values_list("sensitivity", flat=True).first()
        if known is not None
        else None
    )
    entry = Entry(
        index=report.minor_id_index,
        doc_type=ID_KIND,
        number_encrypted=bytes(report.minor_id_encrypted),
        number_masked=report.minor_id_masked,
        name=report.minor_name or "（未填姓名）",
        kind="minor",
        sex=report.minor_sex,
        birth_date=report.minor_birth_date,
        street_id=report.minor_street_id,
        address="",
        phone="",
    )
    (report.person_id,) = persons_for([entry], organisation_id=receiver, sensitive=sensitive)
    person = Person.all_objects.get(pk=report.person_id)
    if known is None:
        record(
            actor,
            AuditAction.CREATE,
            person,
            after={"sensitivity": person.sensitivity},
            reason=_("强制报告 %(n)s 中的身份证号码") % {"n": report.number},
            extra={"report": report.number},
        )
    elif sensitive and was != Sensitivity.SENSITIVE:
        _audit_sensitive(actor, person, was, report)


def _audit_sensitive(actor, person, was, report: Report) -> None:
    from weibao.registry.choices import Sensitivity

    record(
        actor,
        AuditAction.UPDATE,
        person,
        before={"sensitivity": was},
        after={"sensitivity": Sensitivity.SENSITIVE},
        reason=_("关联性侵害强制报告 %(n)s") % {"n": report.number},
        extra={"report": report.number},
    )


def give_police_access(report: Report) -> None:
    """The routed police see the child through the person rule (a referral link)."""
    if report.person_id and report.police_id:
        DepartmentLink.objects.get_or_create(
            person_id=report.person_id, organisation_id=report.police_id, basis=LinkBasis.REFERRED
        )


def find_duplicate(report: Report) -> Report | None:
    """An earlier live report about the same minor within the window: same person, same ID, or same name and
    birth date. Searched city-wide (a sensitive report included): pages name it only to users who may see it
    (``visible_other``)."""
    same = Q(pk__in=[])
    if report.person_id:
        same |= Q(person_id=report.person_id)
    if report.minor_id_index:
        same |= Q(minor_id_index=report.minor_id_index)
    if report.minor_name and report.minor_birth_date:
        same |= Q(minor_name=report.minor_name, minor_birth_date=report.minor_birth_date)
    since = report.created - _hours("DUPLICATE_WINDOW_HOURS")
    return (
        Report.objects.live()
        .filter(same, created__gte=since, created__lte=report.created)
        .exclude(pk=report.pk)
        .order_by("created", "pk")
        .first()
    )


@uploads.removes_files_on_error
@transaction.atomic
def create_report(report: Report, *, actor=None, attachments=()) -> Report:
    """Number, route, link, deadline and notify a new report (already validated by its form or serializer)."""
    from .attachments import store

    report.created = timezone.now()
    report.number = next_number(report.created)
    report.urgency = Urgency.URGENT if report.immediate_danger else Urgency.NORMAL
    route(report)
    set_deadlines(report)
    report.full_clean(exclude=["minor_id_encrypted"])
    report.save()
    if report.channel == Channel.STAFF:  # public and partner reports are linked by a handler (link_to_person)
        link_person(report, actor=actor)
        give_police_access(report)
    report.duplicate_of = find_duplicate(report)
    report.save(update_fields=["person", "duplicate_of"])
    for upload in attachments:
        store(report, upload)
    record(
        actor,
        AuditAction.CREATE,
        report,
        after={
            "channel": report.channel,
            "situation": report.situation,
            "urgency": report.urgency,
            "police": str(report.police or ""),
            "workstation": str(report.workstation or ""),
            "duplicate_of": str(report.duplicate_of or ""),
        },
        extra={"partner": report.partner.code if report.partner_id else ""},
    )
    _announce(report)
    return report


def _announce(report: Report) -> None:
    """Number and link only (``notify``: no person data). Not the situation: a sexual-abuse situation is what
    makes a report sensitive, and these messages reach users without ``may_read_sensitive``, by e-mail too."""
    urgent = report.urgency == Urgency.URGENT
    subject = (_("【紧急】") if urgent else "") + _("新强制报告 %(n)s") % {"n": report.number}
    body = _("请登录系统查看报告，按时限处置。")
    orgs = [o for o in (report.police, report.workstation) if o is not None]
    notify(
        subject=subject,
        body=body,
        url=_url(report),
        kind="report_routed",
        organisations=orgs,
        roles=[Role.POLICE_OFFICER, Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD],
        text_message=urgent,
    )
    office = district_office(report.district) if report.district_id else None
    if office is not None:
        notify(
            subject=subject,
            body=body,
            url=_url(report),
            kind="report_routed",
            organisations=[office],
            roles=[Role.DISTRICT_OFFICE],
            text_message=urgent,
        )
    if report.duplicate_of_id:  # the earlier report is not named: it may be one these users may not see
        handlers = [o for o in (office,) if o is not None]
        notify(
            subject=_("报告 %(n)s 疑似与先前的报告重复") % {"n": report.number},
            url=_url(report),
            kind="report_duplicate",
            organisations=handlers,
            roles=[Role.DISTRICT_OFFICE],
        )


# --- steps ------------------------------------------------------------------------------------------------


def _changeable(report: Report, actor) -> Report:
    current = Report.objects.visible_to(actor, access.CHANGE).filter(pk=report.pk).first()
    if current is None:
        raise PermissionDenied(_("无权处理该报告"))
    if current.status in (Status.MERGED, Status.CLOSED):
        raise ValidationError(
            {"status": _("该报告已%(s)s，不能再处理") % {"s": current.get_status_display()}}
        )
    return current


def _snapshot(report, fields):
    return {f: str(getattr(report, f) or "") for f in fields}


@transaction.atomic
def acknowledge(report: Report, *, actor) -> Report:
    report = _changeable(report, actor)
    if not access.may_act_as_police(actor, report):
        raise PermissionDenied(_("只有接报公安机关可以受理"))
    if report.acknowledged_at:
        raise ValidationError({"status": _("该报告已受理")})
    now = timezone.now()
    report.acknowledged_at, report.acknowledged_by, report.status = now, actor, Status.ACCEPTED
    report.decision_due = now + _hours("DECISION_HOURS")
    report.save(update_fields=["acknowledged_at", "acknowledged_by", "status", "decision_due"])
    record(actor, AuditAction.UPDATE, report, after={"status": report.status}, reason=_("公安受理"))
    return report


@transaction.atomic
def decide(report: Report, *, actor, decision: str, case_number: str = "", note: str = "") -> Report:
    report = _changeable(report, actor)
    if not access.may_act_as_police(actor, report):
        raise PermissionDenied(_("只有接报公安机关可以作出决定"))
    if decision not in Decision.values:
        raise ValidationError({"decision": _("请选择决定：立案、不予立案或移送 (choose a decision)")})
    case_number = case_number.strip()
    if decision == Decision.OPENED and not case_number:
        raise ValidationError(
            {"case_number": _("立案须填写案件编号 (case number required when a case is opened)")}
        )
    if report.decided_at:
        raise ValidationError({"decision": _("该报告已作出决定")})
    before = _snapshot(report, ["status", "decision", "case_number"])
    now = timezone.now()
    if not report.acknowledged_at:  # deciding implies acceptance
        report.acknowledged_at, report.acknowledged_by = now, actor
    report.decision, report.case_number, report.decision_note = decision, case_number, note.strip()[:500]
    report.decided_at, report.decided_by, report.status = now, actor, Status.DECIDED
    report.feedback_due = now + _hours("FEEDBACK_HOURS")
    report.save()
    record(actor, AuditAction.UPDATE, report, before=before, after=_snapshot(report, before.keys()))
    return report


@transaction.atomic
def record_contact(report: Report, *, actor, note: str) -> Report:
    report = _changeable(report, actor)
    if not access.may_record_contact(actor, report):
        raise PermissionDenied(_("只有街镇工作站可以登记首次联系"))
    if not note.strip():
        raise ValidationError({"contact_note": _("请填写联系情况 (describe the contact)")})
    if report.contacted_at:
        raise ValidationError({"contact_note": _("已登记过首次联系")})
    report.contacted_at, report.contacted_by, report.contact_note = timezone.now(), actor, note.strip()[:500]
    report.save(update_fields=["contacted_at", "contacted_by", "contact_note"])
    record(actor, AuditAction.UPDATE, report, after={"contacted_at": str(report.contacted_at)})
    return report


@transaction.atomic
def record_feedback(report: Report, *, actor, text: str) -> Report:
    """What the reporting unit is told (a legal duty, Shanghai regulation Art. 9). Its reporters are notified."""
    report = _changeable(report, actor)
    if not access.may_record_feedback(actor, report):
        raise PermissionDenied(_("无权反馈该报告"))
    text = text.strip()
    if len(text) < 4:
        raise ValidationError({"feedback": _("请填写反馈内容（至少 4 个字） (feedback text required)")})
    if report.police_id and not report.decided_at:
        raise ValidationError({"feedback": _("公安机关作出决定后才能反馈 (the police decision comes first)")})
    report.feedback, report.feedback_at, report.feedback_by = text[:2000], timezone.now(), actor
    report.status = Status.FED_BACK
    report.save(update_fields=["feedback", "feedback_at", "feedback_by", "status"])
    record(actor, AuditAction.UPDATE, report, after={"status": report.status}, reason=_("反馈报告单位"))
    _tell_reporters(report, _("报告 %(n)s 有了处理反馈") % {"n": report.number}, "report_feedback")
    return report


def _tell_reporters(report: Report, subject: str, kind: str) -> None:
    users = [report.reporter_user] if report.reporter_user_id else []
    orgs = [report.reporter_org] if report.reporter_org_id else []
    if users or orgs:
        notify(
            subject=subject,
            url=_url(report),
            kind=kind,
            users=users,
            organisations=orgs,
            roles=[Role.MANDATED_REPORTER],
        )


@transaction.atomic
def close(report: Report, *, actor) -> Report:
    report = _changeable(report, actor)
    if not access.may_close_report(actor, report):
        raise PermissionDenied(_("无权办结该报告"))
    if not report.feedback_at:
        raise ValidationError(
            {"feedback": _("未向报告单位反馈，不能办结 (feedback to the reporter is required)")}
        )
    report.status, report.closed_at = Status.CLOSED, timezone.now()
    report.save(update_fields=["status", "closed_at"])
    record(actor, AuditAction.UPDATE, report, after={"status": report.status})
    return report


@transaction.atomic
def merge(duplicate: Report, primary: Report, *, actor, reason: str) -> Report:
    """Merge a duplicate into the primary report (same event); the reporters of both are told."""
    if not reason.strip():
        raise ValidationError({"reason": _("合并须填写事由 (a reason is required)")})
    duplicate = _changeable(duplicate, actor)
    primary = _changeable(primary, actor)
    if duplicate.pk == primary.pk:
        raise ValidationError({"primary": _("不能与本报告合并")})
    if not (access.may_merge_reports(actor, duplicate) and access.may_merge_reports(actor, primary)):
        raise PermissionDenied(_("只有区、市未保办可以合并报告"))
    duplicate.merged_into, duplicate.merge_reason, duplicate.status = (
        primary,
        reason.strip()[:500],
        Status.MERGED,
    )
    duplicate.save(update_fields=["merged_into", "merge_reason", "status"])
    if not primary.person_id and duplicate.person_id:
        primary.person_id = duplicate.person_id
        primary.save(update_fields=["person"])
        give_police_access(primary)
    record(
        actor,
        AuditAction.MERGE,
        duplicate,
        reason=reason,
        extra={"primary": primary.number, "duplicate": duplicate.number},
    )
    for report in (duplicate, primary):  # each reporter is told of its own report only
        _tell_reporters(
            report, _("报告 %(n)s 已与另一份报告合并处理") % {"n": report.number}, "report_merged"
        )
    return duplicate


@transaction.atomic
def link_to_person(report: Report, person, *, actor) -> Report:
    """A handler links a report (usually one without an ID number) to the registry person it is about."""
    from weibao.registry.choices import Sensitivity
    from weibao.registry.models import Person

    report = _changeable(report, actor)
    if not access.may_link_report_person(actor, report):
        raise PermissionDenied(_("无权关联登记人员"))
    if not Person.objects.visible_to(actor, access.CHANGE).filter(pk=person.pk).exists():
        raise ValidationError({"person": _("该人员不在您的管辖范围内 (person outside your scope)")})
    before = {"person": str(report.person.uuid) if report.person_id else ""}
    report.person = person
    report.save(update_fields=["person"])
    if report.situation in SENSITIVE_SITUATIONS:
        was = Person.all_objects.filter(pk=person.pk).values_list("sensitivity", flat=True).first()
        if was != Sensitivity.SENSITIVE:
            Person.all_objects.filter(pk=person.pk).update(sensitivity=Sensitivity.SENSITIVE)
            _audit_sensitive(actor, person, was, report)
    give_police_access(report)
    record(actor, AuditAction.UPDATE, report, before=before, after={"person": str(person.uuid)})
    return report


def person_candidates(report: Report, user, limit: int = 10):
    """Registry persons the user may change whose name matches the reported minor's (closest birth date first)."""
    from weibao.registry.models import Person
    from weibao.registry.search import name_query

    if not report.minor_name:
        return []
    qs = Person.objects.visible_to(user, access.CHANGE).filter(name_query(report.minor_name), kind="minor")
    if report.minor_birth_date:
        qs = qs.filter(birth_date=report.minor_birth_date)
    return list(qs.select_related("street")[:limit])


def visible_other(user, pk: int | None) -> Report | None:
    """Another report a report points to (the one it may duplicate, the one it was merged into), if ``user``
    may see it; else None — not even its number."""
    return Report.objects.visible_to(user).filter(pk=pk).first() if pk else None


def report_for_case(report_uuid, *, actor) -> Report:
    """For the cases app: the report ``actor`` may act on (change scope), to be linked to a case."""
    report = Report.objects.visible_to(actor, access.CHANGE).filter(uuid=report_uuid).first()
    if report is None:
        raise PermissionDenied(_("无权处理该报告"))
    return report


# --- deadlines --------------------------------------------------------------------------------------------

STEP_FIELDS = {
    Step.ACKNOWLEDGE: ("ack_due", "acknowledged_at"),
    Step.DECIDE: ("decision_due", "decided_at"),
    Step.FEEDBACK: ("feedback_due", "feedback_at"),
    Step.CONTACT: ("contact_due", "contacted_at"),
}


def overdue_steps(report: Report, now) -> list[str]:
    return [
        step
        for step, (due, done) in STEP_FIELDS.items()
        if getattr(report, due) and getattr(report, due) <= now and not getattr(report, done)
    ]


def escalate_overdue(now) -> int:
    """Each overdue step escalates once to the district office (notification + audit event)."""
    from weibao.accounts.services import system_actor

    count = 0
    open_reports = Report.objects.exclude(status__in=[Status.MERGED, Status.CLOSED])
    for step, (due, done) in STEP_FIELDS.items():
        rows = open_reports.filter(**{f"{due}__lte": now, f"{done}__isnull": True}).select_related("district")
        for report in rows:
            if step in (report.escalated or {}):
                continue
            with transaction.atomic():
                locked = Report.objects.select_for_update().get(pk=report.pk)
                if step in (locked.escalated or {}):
                    continue
                locked.escalated = {**(locked.escalated or {}), step: now.isoformat()}
                locked.save(update_fields=["escalated"])
                office = district_office(report.district) if report.district_id else None
                notify(
                    subject=_("【超时】报告 %(n)s：%(s)s 已超过期限")
                    % {"n": report.number, "s": Step(step).label},
                    url=_url(report),
                    kind="report_overdue",
                    organisations=[office] if office else [],
                    roles=[Role.DISTRICT_OFFICE],
                    escalation=True,
                    text_message=report.urgency == Urgency.URGENT,
                )
                record(system_actor(), AuditAction.UPDATE, locked, extra={"escalated": step})
            count += 1
    return count
