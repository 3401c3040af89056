"""Case pages: the workstation's daily tool, the lead's approvals, the receiver's referrals, caseloads.

Every page starts from ``visible_to``; a case outside the scope is a 404 like a missing one, and the
attempt is audited (``AuditAction.DENIED``) when the case exists.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import FormView

from weibao.accounts import access
from weibao.accounts.views import add_form_errors
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.views import RoleRequiredMixin, ScopedListView, report_form_errors, uuid_or_none

from . import forms, pickers, services
from .choices import (
    ApprovalStatus,
    CaseType,
    InterventionStatus,
    Origin,
    PlanStatus,
    Priority,
    ReferralStatus,
    RiskLevel,
    State,
)
from .models import Approval, Assessment, Attachment, Case, Instrument, Intervention, PlanItem, Referral
from .timeline import case_timeline
from .workflow import approval_kind_from, moves_from

# The tabs of the case page a form may return to (``next_tab``); anything else is dropped.
CASE_TABS = frozenset({"workflow", "timeline", "notes", "assessments", "plan", "interventions", "referrals"})


def scoped_case(user, uuid, action=access.VIEW) -> Case:
    """The case if ``user`` may ``action`` it; else 404 — and a DENIED audit event if the case exists."""
    case = (
        Case.objects.visible_to(user, action)
        .filter(uuid=uuid)
        .select_related("workstation", "street")
        .first()
    )
    if case is None:
        existing = Case.objects.filter(uuid=uuid).first()
        if existing is not None:
            record(user, AuditAction.DENIED, existing, extra={"action": action})
        raise Http404
    return case


def scoped_row(model, user, uuid, action=access.CHANGE):
    row = model.objects.visible_to(user, action).filter(uuid=uuid).first()
    if row is None:
        existing = model.objects.filter(uuid=uuid).first()
        if existing is not None:
            record(user, AuditAction.DENIED, existing, extra={"action": action})
        raise Http404
    return row


class CaseListView(ScopedListView):
    """Caseloads: mine, my workstation's, overdue, by risk; filters by state, risk, type and number."""

    model = Case
    template_name = "cases/case_list.html"
    TABS = ("mine", "all", "overdue", "approvals")

    @staticmethod
    def default_tab(qs, user) -> str:
        """Whoever may open cases and has open cases of their own starts on "mine"; everyone else on "all"."""
        mine = access.can_open_cases(user) and qs.filter(workers=user).exclude(state=State.CLOSED).exists()
        return "mine" if mine else "all"

    def get_queryset(self):
        from weibao.registry.models import Person

        user = self.request.user
        qs = (
            super()
            .get_queryset()
            .select_related("workstation", "street")
            .prefetch_related(
                # names only of the children the user may see; ``members`` counts the others
                Prefetch("persons", Person.objects.visible_to(user), to_attr="visible_persons"),
                "members",
                "workers",
            )
        )
        self.tab = self.request.GET.get("tab") or self.default_tab(qs, user)
        if self.tab == "mine":
            qs = qs.filter(workers=user).exclude(state=State.CLOSED)
        elif self.tab == "overdue":
            qs = services.overdue_cases(qs)
        elif self.tab == "approvals":
            qs = qs.filter(approvals__status=ApprovalStatus.PENDING)
        self.filter_form = forms.CaseFilterForm(self.request.GET or None)
        if self.filter_form.is_valid():
            d = self.filter_form.cleaned_data
            if d["q"]:
                qs = qs.filter(number__icontains=d["q"].strip())
            for name in ("state", "risk_level", "case_type"):
                if d[name]:
                    qs = qs.filter(**{name: d[name]})
        return qs.order_by("state_due", "-opened_at").distinct()

    def get_context_data(self, **kwargs):
        user = self.request.user
        base = Case.objects.visible_to(user)
        open_cases = base.exclude(state=State.CLOSED)
        risk = dict(open_cases.values_list("risk_level").annotate(n=Count("id")))
        return super().get_context_data(
            tab=self.tab,
            filter_form=self.filter_form,
            may_open=access.can_open_cases(user),
            counts={
                "mine": open_cases.filter(workers=user).count(),
                "overdue": services.overdue_cases(base).count(),
                "approvals": base.filter(approvals__status=ApprovalStatus.PENDING).distinct().count(),
                "open": open_cases.count(),
            },
            by_risk=[(code, label, risk.get(code, 0)) for code, label in RiskLevel.choices],
            now=timezone.now(),
            **kwargs,
        )


class OpenCaseView(RoleRequiredMixin, FormView):
    template_name = "cases/case_open.html"
    form_class = forms.OpenCaseForm

    def allowed(self, user):
        return access.may_open_cases(user)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        if self.request.method == "GET":
            kwargs["initial"] = {**kwargs["initial"], **self._prefill(self.request.GET)}
        return kwargs

    def _prefill(self, params) -> dict:
        """``?person=<uuid>`` from a person page, ``?report=<uuid>`` from a mandatory report, ``?alert=<uuid>``
        from an early-warning alert."""
        from weibao.alerts.choices import OPEN_STATES
        from weibao.alerts.models import Alert
        from weibao.notifications.services import workstation
        from weibao.reports.models import Report

        user, initial = self.request.user, {}
        persons = forms.children_to_open(user)
        person_uuid, report_uuid, alert_uuid = (
            uuid_or_none(params.get(name)) for name in ("person", "report", "alert")
        )
        if person_uuid:
            found = persons.filter(uuid=person_uuid).first()
            if found:
                initial["persons"] = [found.pk]
        if report_uuid:
            report = Report.objects.visible_to(user, access.CHANGE).filter(uuid=report_uuid).first()
            if report:
                initial.update(
                    report=report.uuid,
                    origin=Origin.REPORT,
                    origin_reference=report.number,
                    priority=Priority.URGENT if report.urgency == Priority.URGENT else Priority.NORMAL,
                    case_type=CaseType.VICTIM,
                )
                if report.workstation_id:
                    initial["workstation"] = report.workstation_id
                if report.person_id and persons.filter(pk=report.person_id).exists():
                    initial["persons"] = [report.person_id]
        if alert_uuid:
            alert = (
                Alert.objects.visible_to(user, access.CHANGE)
                .filter(uuid=alert_uuid, state__in=OPEN_STATES)
                .select_related("rule", "rule_version__level", "person__street")
                .first()
            )
            if alert:
                urgent = alert.rule_version.level.code in ("critical", "high")
                initial.update(
                    alert=alert.uuid,
                    origin=Origin.ALERT,
                    origin_reference=services.alert_reference(alert),
                    priority=Priority.URGENT if urgent else Priority.NORMAL,
                    risk_level=RiskLevel.HIGH if urgent else RiskLevel.MEDIUM,
                )
                station = workstation(alert.person.street)
                if station:
                    initial["workstation"] = station.pk
                if persons.filter(pk=alert.person_id).exists():
                    initial["persons"] = [alert.person_id]
        return initial

    def form_invalid(self, form):
        if shown := form.shown_children():  # listed again from what was posted: a read of those children
            record(
                self.request.user,
                AuditAction.VIEW,
                object_type="registry.person",
                extra={"ids": [p.pk for p in shown], "purpose": "open case form shown again"},
            )
        return super().form_invalid(form)

    def form_valid(self, form):
        try:
            case = services.open_case(self.request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("已立案 %(n)s") % {"n": case.number})
        return redirect("cases:case_detail", uuid=case.uuid)


@login_required
def person_picker(request):
    """HTMX: children matching a name, pinyin or document number, to tick on the open-case form (its
    ``persons`` field: the same children, ``forms.children_to_open``)."""
    from weibao.registry.search import name_query

    if not access.may_open_cases(request.user):
        raise PermissionDenied
    q = (request.GET.get("q") or "").strip()
    persons = ()  # nothing typed: nothing offered, nothing audited
    if q:
        record(
            request.user, AuditAction.SEARCH, object_type="registry.person", extra={"purpose": "open case"}
        )
        persons = forms.children_to_open(request.user).filter(name_query(q))
    return pickers.options_response(
        request,
        persons,
        pickers.person_option,
        name="persons",
        multiple=True,
        q=q,
        empty=_("没有找到，请换个写法或先在未成年人信息中登记"),
        more=_("只显示前 %(limit)s 条，请输入更完整的姓名或证件号码") % {"limit": pickers.LIMIT},
    )


@login_required
@require_GET
def organisation_picker(request, uuid):
    """HTMX: organisations matching a name, for an organisation field (``?field=``) of a form on the case
    page — only to whom may change the case, and only within the field's own queryset."""
    case = scoped_case(request.user, uuid, access.CHANGE)
    name = request.GET.get("field") or ""
    form_class = forms.ORGANISATION_FIELDS.get(name)
    if form_class is None:
        return HttpResponseBadRequest(_("未知的字段 (unknown field)"))
    queryset = form_class(case=case).fields[name].queryset
    q = (request.GET.get("q") or "").strip()[:100]  # no name is longer (Organisation.name)
    return pickers.options_response(
        request,
        pickers.organisation_rows(queryset, q, near=case.street),
        pickers.organisation_option,
        name=name,
        multiple=False,
        q=q,
        empty=_("没有找到该单位，请换个写法"),
        more=_("只显示前 %(limit)s 个，请输入更完整的单位名称") % {"limit": pickers.LIMIT},
    )


def _assessment_history(case, visible_persons):
    """Per child and instrument: the assessments in order, for the change-over-time table and chart.

    ``visible_persons`` are the pks of the children the user may see; the others are shown without name."""
    groups = {}
    for a in (
        Assessment.objects.filter(case=case).select_related("instrument", "person").order_by("assessed_at")
    ):
        groups.setdefault((a.person, a.instrument.name), []).append(a)
    return [
        {
            "person": person,
            "person_visible": person.pk in visible_persons,
            "instrument": name,
            "rows": rows,
            "chart": [[r.assessed_at.strftime("%m-%d %H:%M"), r.total] for r in rows],
            "chart_id": f"chart-{rows[0].person.pk}-{rows[0].instrument.code}",
        }
        for (person, name), rows in groups.items()
    ]


def _visible_report(user, report_id):
    """The report a case came from, when ``user`` may see it (a link on the case page)."""
    from weibao.reports.models import Report

    return Report.objects.visible_to(user).filter(pk=report_id).first() if report_id else None


def _visible_alert(user, alert_id):
    from weibao.alerts.models import Alert

    return Alert.objects.visible_to(user).filter(pk=alert_id).first() if alert_id else None


@login_required
def case_detail(request, uuid):
    user = request.user
    case = scoped_case(user, uuid)
    record(user, AuditAction.VIEW, case)
    whole = access.sees_whole_case(user, case)

    members = case.members.select_related("person")
    visible_persons = case.visible_children(user)
    context = {
        "case": case,
        "whole": whole,
        "members": [(m, m.person_id in visible_persons) for m in members],
        "visible_persons": visible_persons,
        "entries": case_timeline(case, user, whole, visible_persons),
        "referrals": Referral.objects.visible_to(user)
        .filter(case=case)
        .select_related("to_organisation")
        .prefetch_related("attachments"),
        "now": timezone.now(),
        "states": State.choices,
        "plan_statuses": PlanStatus.choices,
        "intervention_statuses": InterventionStatus.choices,
        "source_report": _visible_report(user, case.report_id),
        "source_alert": _visible_alert(user, case.alert_id),
    }
    if whole:
        may_change = Case.objects.visible_to(user, access.CHANGE).filter(pk=case.pk).exists()
        pending = case.approvals.filter(status=ApprovalStatus.PENDING).select_related("requested_by").first()
        goals = case.plan_items.filter(goal__isnull=True).select_related(
            "responsible_user", "responsible_organisation"
        )
        context.update(
            may_change=may_change,
            may_export=Case.objects.visible_to(user, access.EXPORT).filter(pk=case.pk).exists(),
            may_decide=access.may_decide_approvals(user, case),
            moves=[State(s) for s in moves_from(case.state)] if may_change and not pending else [],
            approval_kind=approval_kind_from(case.state) if may_change and not pending else None,
            pending=pending,
            approvals=case.approvals.exclude(status=ApprovalStatus.PENDING).select_related(
                "requested_by", "decided_by"
            ),
            workers=case.workers.all(),
            goals=goals.prefetch_related("actions__responsible_user", "actions__responsible_organisation"),
            interventions=Intervention.objects.filter(case=case)
            .select_related("issuer", "person")
            .prefetch_related("reviews"),
            history=_assessment_history(case, visible_persons),
            instruments=Instrument.objects.filter(is_active=True),
        )
        if may_change:
            context.update(
                note_form=forms.NoteForm(),
                plan_form=forms.PlanItemForm(case=case),
                intervention_form=forms.InterventionForm(case=case, visible_persons=visible_persons),
                referral_form=forms.ReferralForm(case=case),
                update_form=forms.CaseUpdateForm(
                    case=case,
                    initial={
                        "risk_level": case.risk_level,
                        "priority": case.priority,
                        "workers": context["workers"],
                    },
                ),
                compliance_form=forms.ComplianceForm(),
            )
    else:
        context["response_form"] = forms.ResponseForm()
        context["report_form"] = forms.ReportForm()
    return render(request, "cases/case_detail.html", context)


# Fields a service may name that the posting form has no labelled field for.
FIELD_LABELS = {
    "to_state": gettext_lazy("状态"),
    "status": gettext_lazy("状态"),
    "kind": gettext_lazy("审批申请"),
    "intervention": gettext_lazy("干预"),
    "file": gettext_lazy("附件"),
    "hours": gettext_lazy("时限（小时）"),
}


def _errors_to_messages(request, exc, form=None, labels=None):
    """A service's ``ValidationError`` as messages, each after the label of the field it names: ``labels``,
    else the form's label, else ``FIELD_LABELS``, else the field's name."""
    if not hasattr(exc, "error_dict"):
        for e in exc.messages:
            messages.error(request, e)
        return
    for field, errors in exc.message_dict.items():
        label = (labels or {}).get(field)
        if label is None and form is not None and field in form.fields:
            label = form.fields[field].label
        if label is None and field != NON_FIELD_ERRORS:
            label = FIELD_LABELS.get(field, field)
        for e in errors:
            messages.error(request, f"{label}：{e}" if label else e)


def case_action(form_class, write, done, *, action=access.CHANGE, form_kwargs=None, files=False):
    """A POST from a form on the case page: scoped case, validated form, a service call, back to the page."""

    @login_required
    @require_POST
    def view(request, uuid, **kwargs):
        case = scoped_case(request.user, uuid, action)
        extra = form_kwargs(case) if form_kwargs else {}
        form = form_class(request.POST, request.FILES if files else None, **extra)
        if form.is_valid():
            try:
                write(request, case, form.cleaned_data, **kwargs)
                messages.success(request, done)
            except ValidationError as exc:
                _errors_to_messages(request, exc, form)
            except PermissionDenied as exc:
                messages.error(request, str(exc) or _("无权执行此操作"))
        else:
            report_form_errors(request, form)
        url = reverse("cases:case_detail", args=[case.uuid])
        target = request.POST.get("next_tab") or ""
        return redirect(f"{url}#{target}" if target in CASE_TABS else url)

    return view


transition = case_action(
    forms.TransitionForm,
    lambda r, c, d: services.transition(c, d["to_state"], r.user, reason=d["reason"]),
    _("状态已更新"),
)
request_approval = case_action(
    forms.ReasonForm,
    lambda r, c, d: services.request_approval(c, r.user, reason=d["reason"]),
    _("已提交站长审批"),
)


def _decide(request, case, d, approval_uuid):
    approval = Approval.objects.filter(case=case, uuid=approval_uuid).first()
    if approval is None:
        raise Http404
    services.decide_approval(approval, request.user, approve=d["approve"], reason=d["reason"])


decide_approval = case_action(forms.DecisionForm, _decide, _("审批完成"))
update_case = case_action(
    forms.CaseUpdateForm,
    lambda r, c, d: services.update_case(c, r.user, **d),
    _("已保存"),
    form_kwargs=lambda c: {"case": c},
)
add_note = case_action(
    forms.NoteForm, lambda r, c, d: services.add_note(c, r.user, **d), _("已记录"), files=True
)
add_plan_item = case_action(
    forms.PlanItemForm,
    lambda r, c, d: services.add_plan_item(c, r.user, **d),
    _("已加入计划"),
    form_kwargs=lambda c: {"case": c},
)


def _plan_status(request, case, d, item_uuid):
    item = PlanItem.objects.filter(case=case, uuid=item_uuid).first()
    if item is None:
        raise Http404
    services.set_plan_status(item, request.user, status=d["status"])


set_plan_status = case_action(forms.PlanStatusForm, _plan_status, _("已更新"))
add_intervention = case_action(
    forms.InterventionForm,
    lambda r, c, d: services.add_intervention(c, r.user, **d),
    _("已记录干预"),
    form_kwargs=lambda c: {"case": c},
)


def _intervention(case, uuid):
    found = Intervention.objects.filter(case=case, uuid=uuid).first()
    if found is None:
        raise Http404
    return found


update_intervention = case_action(
    forms.InterventionUpdateForm,
    lambda r, c, d, intervention_uuid: services.update_intervention(
        _intervention(c, intervention_uuid), r.user, **d
    ),
    _("已更新"),
)
add_compliance_review = case_action(
    forms.ComplianceForm,
    lambda r, c, d, intervention_uuid: services.add_compliance_review(
        _intervention(c, intervention_uuid), r.user, **d
    ),
    _("已记录履行检查"),
)
send_referral = case_action(
    forms.ReferralForm,
    lambda r, c, d: services.send_referral(c, r.user, **d),
    _("已转介"),
    form_kwargs=lambda c: {"case": c},
    files=True,
)


def _withdraw(request, case, d, referral_uuid):
    referral = Referral.objects.filter(case=case, uuid=referral_uuid).first()
    if referral is None:
        raise Http404
    services.withdraw_referral(referral, request.user, reason=d["reason"])


withdraw_referral = case_action(forms.ReasonForm, _withdraw, _("已撤回转介"))


def _referral_for_receiver(request, uuid):
    referral = scoped_row(Referral, request.user, uuid, access.VIEW)
    if not access.may_respond_to_referral(request.user, referral):
        raise Http404
    return referral


@login_required
@require_POST
def respond_referral(request, uuid):
    referral = _referral_for_receiver(request, uuid)
    form = forms.ResponseForm(request.POST)
    if form.is_valid():
        try:
            services.respond_referral(referral, request.user, **form.cleaned_data)
            messages.success(request, _("已答复"))
        except ValidationError as exc:
            _errors_to_messages(request, exc, form)
    else:
        report_form_errors(request, form)
    if Case.objects.visible_to(request.user).filter(pk=referral.case_id).exists():
        return redirect("cases:case_detail", uuid=referral.case.uuid)
    return redirect("cases:referral_list")


@login_required
@require_POST
def report_referral(request, uuid):
    referral = _referral_for_receiver(request, uuid)
    form = forms.ReportForm(request.POST)
    if form.is_valid():
        try:
            services.report_referral(referral, request.user, **form.cleaned_data)
            messages.success(request, _("已反馈"))
        except ValidationError as exc:
            _errors_to_messages(request, exc, form)
    else:
        report_form_errors(request, form)
    return redirect("cases:case_detail", uuid=referral.case.uuid)


@login_required
def referral_detail(request, uuid):
    referral = scoped_row(Referral, request.user, uuid, access.VIEW)
    return redirect("cases:case_detail", uuid=referral.case.uuid)


class ReferralListView(ScopedListView):
    """Referrals the user's organisation received (department users) or sent (workstations)."""

    model = Referral
    template_name = "cases/referral_list.html"

    def get_queryset(self):
        qs = super().get_queryset().select_related("case", "to_organisation")
        status = self.request.GET.get("status")
        if status in ReferralStatus.values:
            qs = qs.filter(status=status)
        if self.request.GET.get("overdue"):
            qs = services.overdue_referrals(qs)
        return qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(statuses=ReferralStatus.choices, now=timezone.now(), **kwargs)


@login_required
def assessment_new(request, uuid):
    """Fill in an instrument for one child of the case: radio buttons per item, scored on save."""
    case = scoped_case(request.user, uuid, access.CHANGE)
    instrument = Instrument.objects.filter(
        is_active=True, code=request.GET.get("instrument") or request.POST.get("instrument")
    ).first()
    if instrument is None:
        raise Http404

    # only the children the user may change are offered and accepted (as the API's ``person`` field)
    persons = list(case.persons.visible_to(request.user, access.CHANGE))
    visible_persons = case.visible_children(request.user)
    answers, errors, person, notes = {}, {}, None, ""
    if request.method == "POST":
        answers = {k[2:]: v for k, v in request.POST.items() if k.startswith("q_")}
        notes = request.POST.get("notes", "")
        person = next((p for p in persons if str(p.uuid) == request.POST.get("person")), None)
        try:
            if person is None:
                raise ValidationError({"person": _("请选择评估对象 (choose the child)")})
            services.record_assessment(
                case, request.user, person=person, instrument=instrument, answers=answers, notes=notes
            )
            messages.success(request, _("评估已保存"))
            return redirect(reverse("cases:case_detail", args=[case.uuid]) + "#assessments")
        except ValidationError as exc:
            errors = exc.message_dict
    domains = [
        {
            "name": d.name,
            "items": [
                {
                    "code": item.code,
                    "question": item.question,
                    "error": item.code in errors,
                    "options": [
                        (i, o["label"], o["score"], str(answers.get(item.code)) == str(i))
                        for i, o in enumerate(item.options)
                    ],
                }
                for item in d.items.all()
            ],
        }
        for d in instrument.domains.prefetch_related("items")
    ]
    return render(
        request,
        "cases/assessment_form.html",
        {
            "case": case,
            "instrument": instrument,
            "domains": domains,
            "persons": persons,
            "visible_persons": visible_persons,
            "answers": answers,
            "errors": errors,
            "chosen": person,
            "notes": notes,
        },
    )


@login_required
def attachment_download(request, uuid):
    attachment = scoped_row(Attachment, request.user, uuid, access.VIEW)
    record(
        request.user,
        AuditAction.VIEW,
        attachment,
        object_repr=f"{attachment.case.number} {attachment.original_name}",
    )
    try:
        handle = attachment.file.open("rb")
    except OSError:  # the row outlived its file (storage lost, restored without media)
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def case_pdf(request, uuid):
    from .pdf import case_summary_pdf

    case = scoped_case(request.user, uuid, access.EXPORT)
    data = case_summary_pdf(case, request.user)
    record(request.user, AuditAction.EXPORT, case, extra={"format": "pdf", "bytes": len(data)})
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{case.number}.pdf"'
    return response


@login_required
def caseload(request):
    """District and city views: counts by street or district, by state and risk, ages, time per state."""
    from .stats import caseload_context

    if not access.can_view_cases(request.user):
        raise PermissionDenied
    return render(
        request, "cases/caseload.html", caseload_context(Case.objects.visible_to(request.user), request.user)
    )


@login_required
def time_limits(request):
    """The time limit of each step (data): the city office edits them, everyone who works cases reads them."""
    from .models import TimeLimit

    user = request.user
    if not (access.can_view_cases(user) or access.can_configure_catalogues(user)):
        raise PermissionDenied
    may_edit = access.can_configure_catalogues(user)
    limits = list(TimeLimit.objects.order_by("pk"))
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied
        changed = 0
        for limit in limits:
            value = request.POST.get(f"hours_{limit.pk}")
            if value is None or value == str(limit.hours):
                continue
            try:
                services.set_time_limit(limit, user, hours=value)
                changed += 1
            except ValidationError as exc:
                name = limit.label or limit.step
                _errors_to_messages(request, exc, labels={"hours": f"{name} {_('时限（小时）')}"})
        if changed:
            messages.success(request, _("已保存 %(n)s 项时限") % {"n": changed})
        return redirect("cases:time_limits")
    return render(
        request,
        "cases/time_limits.html",
        {"limits": limits, "may_edit": may_edit, "states": dict(State.choices)},
    )
