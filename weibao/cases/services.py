"""Every write to a case goes through here: checked against the access rule and audited in one transaction."""

import datetime
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from weibao.accounts import access
from weibao.accounts.choices import AreaLevel
from weibao.audit.models import AuditAction
from weibao.audit.services import record, snapshot
from weibao.lib import uploads
from weibao.notifications.services import district_office, notify
from weibao.registry.models import DepartmentLink, Person

from .choices import (
    ORDER_KINDS,
    ApprovalKind,
    ApprovalStatus,
    CaseType,
    InterventionKind,
    InterventionStatus,
    NoteKind,
    Origin,
    PlanKind,
    PlanStatus,
    Priority,
    ReferralStatus,
    RiskLevel,
    State,
)
from .models import (
    Approval,
    Assessment,
    Attachment,
    Case,
    CaseCounter,
    CaseMember,
    CaseTransition,
    ComplianceReview,
    Instrument,
    Intervention,
    Note,
    PlanItem,
    Referral,
    TimeLimit,
)
from .workflow import APPROVAL_TARGET, TRANSITIONS

CASE_FIELDS = ["number", "case_type", "risk_level", "priority", "origin", "origin_reference", "state"]
WORKSTATION_TYPE = "workstation"
# Attachments: what a workstation really receives (photos, scans, office files), ≤ 10 MB, checked by content.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_KINDS = {"pdf", "png", "jpg", "docx", "xlsx", "txt"}


def _require(case, actor, action=access.CHANGE):
    if not Case.objects.visible_to(actor, action).filter(pk=case.pk).exists():
        raise PermissionDenied(_("无权处理该案件"))


def _reason(reason, field="reason"):
    if not (reason or "").strip():
        raise ValidationError({field: _("请填写事由 (a reason is required)")})
    return reason.strip()


def _choice(value, choices, field):
    if value not in choices.values:
        raise ValidationError({field: _("取值无效：%(v)s (invalid choice)") % {"v": value}})


def case_url(case) -> str:
    return reverse("cases:case_detail", args=[case.uuid])


def time_limit(step: str, priority: str = "") -> datetime.timedelta | None:
    rows = {t.priority: t.hours for t in TimeLimit.objects.filter(step=step)}
    hours = rows.get(priority, rows.get(""))
    return datetime.timedelta(hours=hours) if hours else None


def _state_due(state, priority, start):
    if state == State.CLOSED:
        return None
    limit = time_limit(state, priority)
    return start + limit if limit else None


@transaction.atomic
def set_time_limit(limit: TimeLimit, actor, *, hours) -> TimeLimit:
    """Change how long a step may take (city office). Running cases keep their due time until they move."""
    if not access.can_configure_catalogues(actor):
        raise PermissionDenied(_("无权修改时限"))
    try:
        hours = int(hours)
    except (TypeError, ValueError):
        raise ValidationError({"hours": _("时限须为整数小时 (hours must be a whole number)")}) from None
    if not 1 <= hours <= 24 * 366:
        raise ValidationError({"hours": _("时限须在 1 小时到 366 天之间 (between 1 hour and 366 days)")})
    before = {"hours": limit.hours}
    limit.hours = hours
    limit.save(update_fields=["hours"])
    record(actor, AuditAction.UPDATE, limit, before=before, after={"hours": hours})
    return limit


def next_number(year: int) -> str:
    """``AJ2026-000045``: per-year sequence under a row lock, so two concurrent openings never share one."""
    with transaction.atomic():
        CaseCounter.objects.get_or_create(year=year)
        counter = CaseCounter.objects.select_for_update().get(year=year)
        counter.last += 1
        counter.save(update_fields=["last"])
        return f"AJ{year}-{counter.last:06d}"


@transaction.atomic
def open_case(
    actor,
    *,
    persons,
    workstation,
    case_type,
    risk_level,
    priority,
    origin,
    origin_reference="",
    reason,
    workers=None,
    family_notes="",
    report=None,
    alert=None,
) -> Case:
    """Open a case — the one entry point for reports, alerts, member-unit referrals and the open form.

    ``persons`` are registry persons (the child and siblings); ``workstation`` the street workstation that
    will own it. The actor must be able to change cases in that street (or be the system actor). A case
    opened from a mandatory ``report`` or an early-warning ``alert`` is linked to it (the actor must be able
    to act on it); an alert whose visit is recorded closes with the outcome "case opened".
    """
    reason = _reason(reason)
    if report is not None:
        from weibao.reports.models import Report

        _require_source(actor, Report, report, _("无权处理该报告"))
        origin, origin_reference = Origin.REPORT, report.number
    if alert is not None:
        from weibao.alerts.models import Alert

        _require_source(actor, Alert, alert, _("无权处理该预警"))
        origin, origin_reference = Origin.ALERT, alert_reference(alert)
    _choice(case_type, CaseType, "case_type")
    _choice(risk_level, RiskLevel, "risk_level")
    _choice(priority, Priority, "priority")
    _choice(origin, Origin, "origin")
    persons = list(persons)
    if not persons:
        raise ValidationError({"persons": _("请至少选择一名未成年人 (at least one child)")})
    if (
        workstation is None
        or workstation.type.code != WORKSTATION_TYPE
        or workstation.area.level != AreaLevel.STREET
    ):
        raise ValidationError({"workstation": _("须为街镇未成年人保护工作站 (must be a street workstation)")})
    if not access.may_open_case_at(actor, workstation):
        raise PermissionDenied(_("无权在该工作站立案"))
    if not getattr(actor, "is_system_actor", False):
        visible = Person.objects.visible_to(actor, access.CHANGE).filter(pk__in=[p.pk for p in persons])
        if visible.count() != len({p.pk for p in persons}):
            raise ValidationError({"persons": _("所选人员不在您的管辖范围内 (person outside your scope)")})
    now = timezone.now()
    case = Case.objects.create(
        number=next_number(timezone.localdate().year),
        workstation=workstation,
        street=workstation.area,
        case_type=case_type,
        risk_level=risk_level,
        priority=priority,
        origin=origin,
        origin_reference=(origin_reference or "").strip()[:60],
        report=report,
        alert=alert,
        family_notes=family_notes,
        state=State.INTAKE,
        state_entered=now,
        state_due=_state_due(State.INTAKE, priority, now),
        opened_at=now,
        opened_by=actor,
    )
    for person in {p.pk: p for p in persons}.values():
        CaseMember.objects.create(case=case, person=person)
    if workers is None:
        workers = [actor] if workstation.pk in access.organisation_ids(actor) else []
    case.workers.set(workers)
    CaseTransition.objects.create(
        case=case, from_state="", to_state=State.INTAKE, actor=actor, at=now, reason=reason
    )
    record(actor, AuditAction.CREATE, case, after=snapshot(case, CASE_FIELDS), reason=reason)
    if alert is not None:
        _close_alert_with_case(alert, case, actor)
    notify(
        subject=_("新案件 %(n)s") % {"n": case.number},
        body=_("工作站有新案件待受理。"),
        url=case_url(case),
        kind="case_opened",
        organisations=[workstation],
        email=False,
    )
    return case


def _require_source(actor, model, obj, message):
    """A case may come only from a report or alert the actor can act on (the system actor: any)."""
    if getattr(actor, "is_system_actor", False):
        return
    if not model.objects.visible_to(actor, access.CHANGE).filter(pk=obj.pk).exists():
        raise PermissionDenied(message)


def alert_reference(alert) -> str:
    """Alerts carry no number: the rule code and the day it fired name one."""
    return f"{alert.rule.code} {timezone.localtime(alert.fired_at):%Y-%m-%d}"[:60]


def _close_alert_with_case(alert, case, actor):
    """The visit is recorded and a case follows: the alert closes with the outcome "case opened"."""
    from weibao.alerts import services as alert_services
    from weibao.alerts.choices import AlertState, Outcome

    if alert.state == AlertState.VISITING and alert.visit_result:
        alert_services.transition(
            alert,
            AlertState.CLOSED,
            actor=actor,
            reason=_("已立案 %(n)s") % {"n": case.number},
            outcome=Outcome.CASE_OPENED,
        )


@transaction.atomic
def update_case(case, actor, *, reason, **fields) -> Case:
    """Risk level, priority, type, family notes, assigned workers."""
    _require(case, actor)
    reason = _reason(reason)
    allowed = {"risk_level": RiskLevel, "priority": Priority, "case_type": CaseType, "family_notes": None}
    before = snapshot(case, CASE_FIELDS + ["family_notes"])
    workers = fields.pop("workers", None)
    for name, value in fields.items():
        if name not in allowed:
            raise ValidationError({name: _("不可修改 (not editable)")})
        if allowed[name] is not None:
            _choice(value, allowed[name], name)
        setattr(case, name, value)
    if "priority" in fields and case.state != State.CLOSED:
        case.state_due = _state_due(case.state, case.priority, case.state_entered)
        case.escalated_at = None
    case.save()
    after = snapshot(case, CASE_FIELDS + ["family_notes"])
    if workers is not None:
        users = list(workers)
        for u in users:
            if not any(a.organisation_id == case.workstation_id for a in u.active_assignments()):
                raise ValidationError(
                    {"workers": _("%(u)s 不是本工作站人员 (not of this workstation)") % {"u": u}}
                )
        before["workers"] = sorted(str(u) for u in case.workers.all())
        case.workers.set(users)
        after["workers"] = sorted(str(u) for u in users)
    record(actor, AuditAction.UPDATE, case, before=before, after=after, reason=reason)
    return case


def _move(case, to_state, actor, reason, approval=None):
    now = timezone.now()
    before = case.state
    CaseTransition.objects.create(
        case=case, from_state=before, to_state=to_state, actor=actor, at=now, reason=reason, approval=approval
    )
    case.state, case.state_entered, case.escalated_at = to_state, now, None
    case.state_due = _state_due(to_state, case.priority, now)
    case.closed_at = now if to_state == State.CLOSED else None
    case.save()
    record(
        actor, AuditAction.UPDATE, case, before={"state": before}, after={"state": to_state}, reason=reason
    )


def _pending_approval(case) -> bool:
    """Whether the lead has a request of the case still to decide (one at most: ``one_pending_approval_per_case``)."""
    return case.approvals.filter(status=ApprovalStatus.PENDING).exists()


@transaction.atomic
def transition(case, to_state, actor, *, reason) -> Case:
    """Move a case along the workflow (moves that need the lead's approval go through ``request_approval``)."""
    _require(case, actor)
    reason = _reason(reason)
    case = Case.objects.select_for_update().get(pk=case.pk)
    key = (case.state, to_state)
    if key not in TRANSITIONS:
        raise ValidationError(
            {
                "to_state": _("不允许从“%(a)s”转到“%(b)s” (transition not allowed)")
                % {"a": State(case.state).label, "b": to_state}
            }
        )
    if TRANSITIONS[key] is not None:
        raise ValidationError({"to_state": _("结案和重新开案须经站长审批 (needs the lead's approval)")})
    if _pending_approval(case):
        raise ValidationError(
            {"to_state": _("有待站长审批的申请，审批后再变更状态 (a request awaits the lead)")}
        )
    if key == (State.INTAKE, State.ASSESSMENT) and not case.notes.filter(kind=NoteKind.VISIT).exists():
        raise ValidationError({"to_state": _("进入评估前须至少记录一次走访 (record the first visit first)")})
    _move(case, to_state, actor, reason)
    return case


@transaction.atomic
def request_approval(case, actor, *, reason) -> Approval:
    """A worker asks the lead to close (or reopen) the case; the lead is notified."""
    _require(case, actor)
    reason = _reason(reason)
    # The case row is locked (as in ``transition``) so that two submits at once are taken one after the other.
    case = Case.objects.select_for_update().get(pk=case.pk)
    kind = ApprovalKind.REOPEN if case.state == State.CLOSED else ApprovalKind.CLOSE
    if (case.state, APPROVAL_TARGET[kind]) not in TRANSITIONS:
        raise ValidationError({"kind": _("当前状态不能申请结案 (cannot request closure in this state)")})
    pending = _("已有待审批的申请 (a request is already pending)")
    if _pending_approval(case):
        raise ValidationError({"kind": pending})
    try:
        with transaction.atomic():  # should the check still be passed twice, the constraint decides
            approval = Approval.objects.create(
                case=case, kind=kind, reason=reason, requested_by=actor, requested_at=timezone.now()
            )
    except IntegrityError:
        raise ValidationError({"kind": pending}) from None
    record(actor, AuditAction.CREATE, approval, after={"kind": kind, "case": case.number}, reason=reason)
    from weibao.accounts.choices import Role

    notify(
        subject=_("案件 %(n)s 待审批：%(k)s") % {"n": case.number, "k": ApprovalKind(kind).label},
        url=case_url(case),
        kind="case_approval",
        organisations=[case.workstation],
        roles=[Role.WORKSTATION_LEAD],
        email=False,
    )
    return approval


@transaction.atomic
def decide_approval(approval, actor, *, approve: bool, reason) -> Approval:
    """The lead of the case's workstation approves (the case moves) or rejects, with a reason."""
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    case = approval.case
    _require(case, actor)
    if not access.may_decide_approvals(actor, case):
        raise PermissionDenied(_("仅本工作站站长可审批"))
    reason = _reason(reason)
    if approval.status != ApprovalStatus.PENDING:
        raise ValidationError({"status": _("该申请已处理 (already decided)")})
    target = APPROVAL_TARGET[approval.kind]
    if approve and (case.state, target) not in TRANSITIONS:
        raise ValidationError({"status": _("案件状态已变化，不能执行 (the case has moved on)")})
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    approval.decided_by, approval.decided_at, approval.decision_reason = actor, timezone.now(), reason
    approval.save()
    record(actor, AuditAction.UPDATE, approval, after={"status": approval.status}, reason=reason)
    if approve:
        _move(case, target, actor, f"{approval.reason}（{_('站长批准')}：{reason}）", approval=approval)
    notify(
        subject=_("案件 %(n)s 的申请%(s)s") % {"n": case.number, "s": approval.get_status_display()},
        url=case_url(case),
        kind="case_approval",
        users=[approval.requested_by],
        email=False,
    )
    return approval


# --- assessments ---------------------------------------------------------------------------------


def score(instrument: Instrument, answers: dict) -> tuple[int, dict, object]:
    """Total, per-domain scores and level band for ``answers`` (item code → option index). Every item."""
    errors, domain_scores, total = {}, {}, 0
    for domain in instrument.domains.prefetch_related("items"):
        domain_scores[domain.code] = 0
        for item in domain.items.all():
            raw = answers.get(item.code)
            try:
                index = int(raw)
                option = item.options[index]
                if index < 0:
                    raise IndexError
            except (TypeError, ValueError, IndexError):
                errors[item.code] = _("请选择一个选项 (answer required)")
                continue
            domain_scores[domain.code] += option["score"]
            total += option["score"]
    if errors:
        raise ValidationError(errors)
    return total, domain_scores, instrument.level_for(total)


@transaction.atomic
def record_assessment(case, actor, *, person, instrument, answers, notes="") -> Assessment:
    _require(case, actor)
    if not case.members.filter(person=person).exists():
        raise ValidationError({"person": _("该人员不属于本案件 (not a child of this case)")})
    if not instrument.is_active:
        raise ValidationError({"instrument": _("该量表已停用 (instrument retired)")})
    answers = {str(k): v for k, v in (answers or {}).items()}
    total, domain_scores, band = score(instrument, answers)
    assessment = Assessment.objects.create(
        case=case,
        person=person,
        instrument=instrument,
        answers=answers,
        total=total,
        domain_scores=domain_scores,
        level=band.label if band else "",
        level_code=band.code if band else "",
        notes=notes,
        assessed_by=actor,
        assessed_at=timezone.now(),
    )
    record(
        actor,
        AuditAction.CREATE,
        assessment,
        after={"total": total, "level": assessment.level},
        extra={"case": case.number},
    )
    return assessment


# --- plan and interventions ------------------------------------------------------------------------


RESPONSIBLE_USER_ERROR = gettext_lazy(
    "责任人须为本工作站的在岗人员 (must be active staff of the case's workstation)"
)


def responsible_users(case):
    """Who may be made responsible for a plan item: the workstation's workers and lead, active, on a current
    assignment."""
    from weibao.accounts.choices import Role
    from weibao.notifications.services import users_of

    return users_of([case.workstation], roles=[Role.WORKSTATION_WORKER, Role.WORKSTATION_LEAD])


@transaction.atomic
def add_plan_item(
    case, actor, *, kind, title, goal=None, responsible_user=None, responsible_organisation=None, due=None
):
    _require(case, actor)
    _choice(kind, PlanKind, "kind")
    if not (title or "").strip():
        raise ValidationError({"title": _("请填写内容 (required)")})
    if goal is not None and (goal.case_id != case.pk or goal.kind != PlanKind.GOAL):
        raise ValidationError({"goal": _("须为本案件的目标 (must be a goal of this case)")})
    if kind == PlanKind.GOAL and goal is not None:
        raise ValidationError({"goal": _("目标不能隶属于其他目标 (a goal has no parent)")})
    if responsible_user is not None and not responsible_users(case).filter(pk=responsible_user.pk).exists():
        raise ValidationError({"responsible_user": RESPONSIBLE_USER_ERROR})
    if responsible_organisation is not None and not responsible_organisation.is_active:
        raise ValidationError({"responsible_organisation": _("该单位已停用 (organisation is inactive)")})
    item = PlanItem.objects.create(
        case=case,
        kind=kind,
        goal=goal,
        title=title.strip(),
        responsible_user=responsible_user,
        responsible_organisation=responsible_organisation,
        due=due,
        created_by=actor,
    )
    record(
        actor,
        AuditAction.CREATE,
        item,
        after=snapshot(item, ["kind", "title", "due", "status"]),
        extra={"case": case.number},
    )
    return item


@transaction.atomic
def set_plan_status(item, actor, *, status) -> PlanItem:
    _require(item.case, actor)
    _choice(status, PlanStatus, "status")
    before = {"status": item.status}
    item.status = status
    item.save(update_fields=["status"])
    record(
        actor,
        AuditAction.UPDATE,
        item,
        before=before,
        after={"status": status},
        extra={"case": item.case.number},
    )
    return item


@transaction.atomic
def add_intervention(
    case,
    actor,
    *,
    kind,
    started_on,
    description="",
    person=None,
    status=InterventionStatus.ONGOING,
    outcome="",
    issuer=None,
    issued_on=None,
    terms="",
) -> Intervention:
    _require(case, actor)
    _choice(kind, InterventionKind, "kind")
    _choice(status, InterventionStatus, "status")
    if person is not None and not case.members.filter(person=person).exists():
        raise ValidationError({"person": _("该人员不属于本案件 (not a child of this case)")})
    if kind in ORDER_KINDS:
        errors = {}
        if issuer is None or issuer.type.code not in ("court", "police"):
            errors["issuer"] = _("令状须注明签发的法院或公安机关 (issuing court or police required)")
        if issued_on is None:
            errors["issued_on"] = _("请填写签发日期 (date of issue required)")
        if not (terms or "").strip():
            errors["terms"] = _("请填写令状内容 (terms required)")
        if errors:
            raise ValidationError(errors)
    else:
        issuer, issued_on, terms = None, None, ""
    intervention = Intervention.objects.create(
        case=case,
        person=person,
        kind=kind,
        started_on=started_on,
        description=description,
        status=status,
        outcome=outcome,
        issuer=issuer,
        issued_on=issued_on,
        terms=terms,
        created_by=actor,
    )
    record(
        actor,
        AuditAction.CREATE,
        intervention,
        after=snapshot(intervention, ["kind", "started_on", "status"]),
        extra={"case": case.number},
    )
    return intervention


@transaction.atomic
def update_intervention(intervention, actor, *, status, outcome) -> Intervention:
    _require(intervention.case, actor)
    _choice(status, InterventionStatus, "status")
    before = snapshot(intervention, ["status", "outcome"])
    intervention.status, intervention.outcome = status, outcome
    intervention.save(update_fields=["status", "outcome"])
    record(
        actor,
        AuditAction.UPDATE,
        intervention,
        before=before,
        after=snapshot(intervention, ["status", "outcome"]),
    )
    return intervention


@transaction.atomic
def add_compliance_review(intervention, actor, *, reviewed_on, complied, note="") -> ComplianceReview:
    _require(intervention.case, actor)
    if intervention.kind not in ORDER_KINDS:
        raise ValidationError(
            {"intervention": _("仅令状类干预有履行检查 (only orders have compliance reviews)")}
        )
    review = ComplianceReview.objects.create(
        intervention=intervention, reviewed_on=reviewed_on, complied=complied, note=note, reviewed_by=actor
    )
    record(
        actor,
        AuditAction.CREATE,
        review,
        object_repr=f"{intervention.case.number} {intervention.get_kind_display()}",
        after={"reviewed_on": str(reviewed_on), "complied": complied},
    )
    return review


# --- referrals -------------------------------------------------------------------------------------


@uploads.removes_files_on_error
@transaction.atomic
def send_referral(case, actor, *, to_organisation, reason, due=None, files=()) -> Referral:
    """Refer the case; the receiver sees the children through a ``referred`` department link."""
    _require(case, actor)
    reason = _reason(reason)
    if to_organisation is None or not to_organisation.is_active:
        raise ValidationError({"to_organisation": _("请选择接收单位 (receiver required)")})
    if to_organisation.pk == case.workstation_id:
        raise ValidationError({"to_organisation": _("不能转介给本工作站 (cannot refer to itself)")})
    now = timezone.now()
    if due is None:
        due = now + (time_limit("referral_response") or datetime.timedelta(days=5))
    elif due <= now:
        raise ValidationError({"due": _("答复期限须晚于现在 (due date must be in the future)")})
    for file in files:  # every file checked before any is stored
        check_upload(file)
    referral = Referral.objects.create(
        case=case, to_organisation=to_organisation, reason=reason, sent_by=actor, sent_at=now, due=due
    )
    for file in files:
        add_attachment(case, actor, file, referral=referral)
    for member in case.members.all():
        DepartmentLink.objects.get_or_create(
            person_id=member.person_id, organisation=to_organisation, basis="referred"
        )
    record(
        actor,
        AuditAction.CREATE,
        referral,
        after={"to": str(to_organisation), "due": due.isoformat()},
        reason=reason,
        extra={"case": case.number},
    )
    notify(
        subject=_("收到案件转介 %(n)s") % {"n": case.number},
        body=_("请在期限内接收或说明拒绝理由。"),
        url=reverse("cases:referral_detail", args=[referral.uuid]),
        kind="case_referral",
        organisations=[to_organisation],
        roles=list(access.RELATION_ROLES),
    )
    return referral


@transaction.atomic
def withdraw_referral(referral, actor, *, reason) -> Referral:
    """The workstation takes a referral back (sent or accepted, not yet reported); the receiver's view ends."""
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    _require(referral.case, actor)
    reason = _reason(reason)
    if referral.status not in (ReferralStatus.SENT, ReferralStatus.ACCEPTED):
        raise ValidationError({"status": _("该转介已结束，不能撤回 (the referral is finished)")})
    before = {"status": referral.status}
    referral.status = ReferralStatus.WITHDRAWN
    referral.save(update_fields=["status"])
    record(
        actor, AuditAction.UPDATE, referral, before=before, after={"status": referral.status}, reason=reason
    )
    _drop_links_if_unreferred(referral)
    notify(
        subject=_("转介 %(n)s 已撤回") % {"n": referral.case.number},
        kind="case_referral",
        organisations=[referral.to_organisation],
        roles=list(access.RELATION_ROLES),
        email=False,
    )
    return referral


def _drop_links_if_unreferred(referral):
    """The receiver no longer needs to see a child of the case once no active referral to it concerns the
    child — on this case or on any other case the child is a member of — and no report about the child is
    routed to it (the police see a reported child through the same kind of link)."""
    from weibao.reports.models import Report

    organisation = referral.to_organisation
    persons = set(referral.case.members.values_list("person_id", flat=True))
    # one filter() call: the member and the referral are of the same case
    still_referred = set(
        CaseMember.objects.filter(
            person_id__in=persons,
            case__referrals__to_organisation=organisation,
            case__referrals__status__in=access.ACTIVE_REFERRAL_STATUSES,
        ).values_list("person_id", flat=True)
    )
    still_referred |= set(
        Report.objects.live()
        .filter(person_id__in=persons, police=organisation)
        .values_list("person_id", flat=True)
    )
    DepartmentLink.objects.filter(
        person_id__in=persons - still_referred, organisation=organisation, basis="referred"
    ).delete()


def _receiver_referral(referral, actor):
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if not access.may_respond_to_referral(actor, referral):
        raise PermissionDenied(_("仅接收单位可处理该转介"))
    return referral


@transaction.atomic
def respond_referral(referral, actor, *, accept: bool, reason) -> Referral:
    referral = _receiver_referral(referral, actor)
    if referral.status != ReferralStatus.SENT:
        raise ValidationError({"status": _("该转介已处理 (already answered)")})
    if not accept:
        reason = _reason(reason)
    now = timezone.now()
    referral.status = ReferralStatus.ACCEPTED if accept else ReferralStatus.DECLINED
    referral.responded_by, referral.responded_at, referral.response_reason = (
        actor,
        now,
        (reason or "").strip(),
    )
    if accept:
        referral.report_due = now + (time_limit("referral_report") or datetime.timedelta(days=30))
    referral.save()
    record(actor, AuditAction.UPDATE, referral, after={"status": referral.status}, reason=reason or "")
    if not accept:
        _drop_links_if_unreferred(referral)
    _tell_workstation(referral, _("转介 %(n)s %(s)s"))
    return referral


@transaction.atomic
def report_referral(referral, actor, *, report) -> Referral:
    referral = _receiver_referral(referral, actor)
    if referral.status not in (ReferralStatus.ACCEPTED, ReferralStatus.REPORTED):
        raise ValidationError({"status": _("接收后才能反馈 (accept first)")})
    if not (report or "").strip():
        raise ValidationError({"report": _("请填写反馈内容 (report required)")})
    referral.status, referral.report, referral.reported_at = (
        ReferralStatus.REPORTED,
        report.strip(),
        timezone.now(),
    )
    referral.save()
    record(actor, AuditAction.UPDATE, referral, after={"status": referral.status})
    _tell_workstation(referral, _("转介 %(n)s %(s)s"))
    return referral


def _tell_workstation(referral, subject):
    notify(
        subject=subject % {"n": referral.case.number, "s": referral.get_status_display()},
        url=case_url(referral.case),
        kind="case_referral",
        users=list(referral.case.workers.all()) + [referral.sent_by],
        email=False,
    )


# --- notes and attachments -------------------------------------------------------------------------


def check_upload(file) -> str:
    """The content type of an acceptable upload, or a ValidationError naming the reason."""
    kind = uploads.check_upload(file, kinds=ATTACHMENT_KINDS, max_bytes=MAX_ATTACHMENT_BYTES, field="file")
    return uploads.CONTENT_TYPES[kind]


def add_attachment(case, actor, file, *, note=None, referral=None) -> Attachment:
    content_type = check_upload(file)
    attachment = Attachment(
        case=case,
        note=note,
        referral=referral,
        original_name=Path(file.name).name[:200],
        content_type=content_type,
        size=file.size,
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )
    attachment.file.save("upload", file, save=False)
    uploads.written(lambda name=attachment.file.name, storage=attachment.file.storage: storage.delete(name))
    attachment.save()
    record(
        actor,
        AuditAction.CREATE,
        attachment,
        object_repr=f"{case.number} {attachment.original_name}",
        after={"size": attachment.size, "type": content_type},
    )
    return attachment


@uploads.removes_files_on_error
@transaction.atomic
def add_note(case, actor, *, kind=NoteKind.VISIT, text, occurred_at=None, place="", files=()) -> Note:
    _require(case, actor)
    _choice(kind, NoteKind, "kind")
    if not (text or "").strip():
        raise ValidationError({"text": _("请填写内容 (required)")})
    occurred_at = occurred_at or timezone.now()
    if occurred_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"occurred_at": _("时间不能晚于现在 (cannot be in the future)")})
    for file in files:  # every file checked before any is stored
        check_upload(file)
    note = Note.objects.create(
        case=case, kind=kind, text=text.strip(), occurred_at=occurred_at, place=place, author=actor
    )
    for file in files:
        add_attachment(case, actor, file, note=note)
    record(
        actor,
        AuditAction.CREATE,
        note,
        object_repr=f"{case.number} {note.get_kind_display()}",
        after={"kind": kind, "occurred_at": occurred_at.isoformat()},
    )
    return note


# --- deadlines -------------------------------------------------------------------------------------


def overdue_cases(queryset=None, now=None):
    now = now or timezone.now()
    qs = Case.objects.all() if queryset is None else queryset
    return qs.exclude(state=State.CLOSED).filter(state_due__lt=now)


def overdue_referrals(queryset=None, now=None):
    from django.db.models import Q

    now = now or timezone.now()
    qs = Referral.objects.all() if queryset is None else queryset
    return qs.filter(
        Q(status=ReferralStatus.SENT, due__lt=now) | Q(status=ReferralStatus.ACCEPTED, report_due__lt=now)
    )


def escalate_overdue(now) -> int:
    """Tell the district office, once per step, about cases and referrals past their time limit."""
    from weibao.accounts.models import User

    actor = User.objects.filter(is_system_actor=True, is_active=True).first()
    escalated = 0
    for case in overdue_cases(now=now).filter(escalated_at__isnull=True).select_related("street__parent"):
        with transaction.atomic():
            if Case.objects.filter(pk=case.pk, escalated_at__isnull=True).update(escalated_at=now) != 1:
                continue
            office = district_office(case.street)
            notify(
                subject=_("案件 %(n)s 超时：%(s)s") % {"n": case.number, "s": State(case.state).label},
                body=_("该案件当前环节已超过时限，请督办。"),
                url=case_url(case),
                kind="case_overdue",
                organisations=[o for o in (office, case.workstation) if o],
                escalation=True,
            )
            record(actor, AuditAction.UPDATE, case, after={"escalated": case.state}, reason="overdue")
            escalated += 1
    pending = overdue_referrals(now=now).exclude(escalated_status=F("status"))
    for referral in pending.select_related("case__street__parent", "to_organisation"):
        with transaction.atomic():
            updated = (
                Referral.objects.filter(pk=referral.pk)
                .exclude(escalated_status=referral.status)
                .update(escalated_status=referral.status)
            )
            if updated != 1:
                continue
            office = district_office(referral.case.street)
            notify(
                subject=_("转介 %(n)s 超时未%(w)s")
                % {
                    "n": referral.case.number,
                    "w": _("答复") if referral.status == ReferralStatus.SENT else _("反馈"),
                },
                url=case_url(referral.case),
                kind="case_overdue",
                organisations=[o for o in (office, referral.to_organisation) if o],
                escalation=True,
            )
            record(
                actor, AuditAction.UPDATE, referral, after={"escalated": referral.status}, reason="overdue"
            )
            escalated += 1
    return escalated


def home_cards(user) -> list:
    """Cards for the home page: open cases in scope, overdue ones, referrals waiting for the user's unit."""
    cases = Case.objects.visible_to(user)
    cards = [
        (_("在办个案"), cases.exclude(state=State.CLOSED).count(), "cases:case_list"),
        (_("超时个案"), overdue_cases(cases).count(), "cases:case_list"),
    ]
    received = Referral.objects.visible_to(user).filter(
        status=ReferralStatus.SENT, to_organisation__in=access.organisation_ids(user)
    )
    if received.exists():
        cards.append((_("待接收转介"), received.count(), "cases:referral_list"))
    return cards
