"""Report pages: file (with server-side drafts), list, detail with the handling steps, public form, figures."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from weibao.accounts import access
from weibao.accounts.choices import Role
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.export import csv_response
from weibao.lib.uploads import CONTENT_TYPES
from weibao.lib.views import ScopedListView, report_form_errors, uuid_or_none
from weibao.registry.models import Person

from . import attachments as files
from . import figures, intake, services
from .choices import Channel, Refusal, Status, Urgency
from .forms import (
    DRAFT_FIELDS,
    ContactForm,
    DecisionForm,
    FeedbackForm,
    MergeForm,
    PublicReportForm,
    StaffReportForm,
)
from .models import Attachment, Draft, Report


class ReportListView(ScopedListView):
    model = Report
    template_name = "reports/report_list.html"
    context_object_name = "reports"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not access.may_list_reports(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        qs = super().get_queryset().select_related("district", "minor_street", "occurred_street")
        status = self.request.GET.get("status", "")
        if status in Status.values:
            qs = qs.filter(status=status)
        elif status == "open":
            qs = qs.exclude(status__in=[Status.CLOSED, Status.MERGED])
        return qs

    def get_context_data(self, **kwargs):
        user = self.request.user
        ctx = super().get_context_data(**kwargs)
        now = timezone.now()
        rows = []
        for report in ctx["reports"]:
            rows.append(
                (report, services.overdue_steps(report, now), access.may_see_report_details(user, report))
            )
        ctx.update(
            rows=rows,
            statuses=Status.choices,
            status=self.request.GET.get("status", ""),
            may_file=access.may_file_reports(user),
            drafts=Draft.objects.filter(owner=user) if access.may_file_reports(user) else [],
            may_export=Report.objects.visible_to(user, access.EXPORT).exists(),
            may_figures=access.may_view_report_figures(user),
        )
        return ctx


# --- filing, with drafts ---------------------------------------------------------------------------------


def _draft_data(post) -> dict:
    return {k: post.get(k, "") for k in DRAFT_FIELDS if k in post}


def _own_draft(request, value) -> Draft | None:
    key = uuid_or_none(value)
    return Draft.objects.filter(owner=request.user, uuid=key).first() if key else None


def _save_draft(request) -> Draft:
    draft = _own_draft(request, request.POST.get("draft"))
    if draft is None:
        draft = Draft(owner=request.user)
    draft.data = _draft_data(request.POST)
    draft.save()
    return draft


@login_required
def report_new(request):
    if not access.may_file_reports(request.user):
        raise PermissionDenied
    draft = None
    if request.method == "POST":
        form = StaffReportForm(request.POST, request.FILES)
        if form.is_valid():
            assignment = next(
                a for a in request.user.active_assignments() if a.role == Role.MANDATED_REPORTER
            )
            report = form.to_report(
                channel=Channel.STAFF,
                reporter_user=request.user,
                reporter_org=assignment.organisation,
                reporter_name=request.user.full_name or request.user.username,
                reporter_contact=request.user.phone,
            )
            try:
                services.create_report(
                    report, actor=request.user, attachments=form.cleaned_data["attachments"]
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                if (submitted := _own_draft(request, request.POST.get("draft"))) is not None:
                    submitted.delete()
                messages.success(request, _("报告已提交，编号 %(n)s") % {"n": report.number})
                return redirect("reports:detail", uuid=report.uuid)
        draft = _save_draft(request)  # an error loses nothing: what was typed is kept server-side too
        # … except the attachments: a browser never fills a file input again, so the form says so.
        reselect = bool(request.FILES.getlist("attachments"))
    else:
        if request.GET.get("draft"):
            draft = _own_draft(request, request.GET["draft"])
            if draft is None:
                raise Http404
        form = StaffReportForm(initial=draft.data if draft else None)
        reselect = False
    return render(
        request,
        "reports/report_form.html",
        {"form": form, "draft": draft, "reselect_attachments": reselect},
    )


@login_required
@require_POST
def draft_save(request):
    """HTMX autosave on every change of the staff form: the text fields only (``request.POST``).

    The form leaves the attachments out of the autosave (``hx-params``): they are uploaded once, on submit.
    """
    if not access.may_file_reports(request.user):
        raise PermissionDenied
    draft = _save_draft(request)
    return render(request, "reports/_draft_status.html", {"draft": draft})


@login_required
@require_POST
def draft_delete(request, uuid):
    get_object_or_404(Draft, owner=request.user, uuid=uuid).delete()  # someone else's draft: not found
    messages.info(request, _("草稿已删除"))
    return redirect("reports:list")


# --- detail and steps ---------------------------------------------------------------------------------------


def _visible(request, uuid, action=access.VIEW) -> Report:
    return get_object_or_404(
        Report.objects.visible_to(request.user, action).select_related(
            "district", "police", "workstation", "reporter_org", "minor_street", "occurred_street", "person",
            "partner",
        ),
        uuid=uuid,
    )  # fmt: skip


def _cases_of(user, report):
    from weibao.cases.models import Case

    return Case.objects.visible_to(user).filter(report=report).order_by("opened_at")


def _may_open_case(user, report) -> bool:
    """Workstation or district staff who act on the report open a case from it (cases app, ``?report=``)."""
    return bool(report.workstation_id) and access.may_open_case_at(user, report.workstation)


@login_required
def report_detail(request, uuid):
    user = request.user
    report = _visible(request, uuid)
    details = access.may_see_report_details(user, report)
    record(user, AuditAction.VIEW, report, extra={"details": details})
    open_ = report.status not in (Status.CLOSED, Status.MERGED)
    police = access.may_act_as_police(user, report) and open_
    duplicate = services.visible_other(user, report.duplicate_of_id)
    merged_into = services.visible_other(user, report.merged_into_id)
    candidates = None
    if open_ and not report.person_id and access.may_link_report_person(user, report):
        candidates = services.person_candidates(report, user)
        if candidates:  # registry names, birth dates and streets shown: a search of the registry
            record(
                user,
                AuditAction.SEARCH,
                object_type="registry.person",
                extra={
                    "purpose": "link report",
                    "report": report.number,
                    "ids": [str(p.uuid) for p in candidates],
                },
            )
    ctx = {
        "report": report,
        "details": details,
        "identity": access.may_see_reporter_identity(user, report),
        "overdue": services.overdue_steps(report, timezone.now()),
        "may_police": police,
        "may_contact": access.may_record_contact(user, report) and open_ and not report.contacted_at,
        "may_feedback": access.may_record_feedback(user, report) and open_ and not report.feedback_at,
        "may_close": open_ and access.may_close_report(user, report),
        "may_merge": access.may_merge_reports(user, report) and open_,
        "decision_form": DecisionForm(),
        "contact_form": ContactForm(),
        "feedback_form": FeedbackForm(),
        "merge_form": MergeForm(initial={"primary": duplicate.number if duplicate else ""}),
        "duplicate": duplicate,
        "merged_into": merged_into,
        "attachments": report.attachments.all() if details else [],
        "candidates": candidates,
        "cases": _cases_of(user, report),
        "may_open_case": open_ and _may_open_case(user, report),
        "person_visible": bool(report.person_id)
        and Person.objects.visible_to(user).filter(pk=report.person_id).exists(),
    }
    return render(request, "reports/report_detail.html", ctx)


def _step(request, uuid, run, form_class=None):
    report = _visible(request, uuid, access.CHANGE)
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        report_form_errors(request, form)
        return redirect("reports:detail", uuid=report.uuid)
    try:
        run(report, form.cleaned_data if form else {})
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已保存"))
    return redirect("reports:detail", uuid=report.uuid)


@login_required
@require_POST
def acknowledge(request, uuid):
    return _step(request, uuid, lambda r, d: services.acknowledge(r, actor=request.user))


@login_required
@require_POST
def decide(request, uuid):
    return _step(
        request,
        uuid,
        lambda r, d: services.decide(
            r, actor=request.user, decision=d["decision"], case_number=d["case_number"], note=d["note"]
        ),
        DecisionForm,
    )


@login_required
@require_POST
def contact(request, uuid):
    return _step(
        request,
        uuid,
        lambda r, d: services.record_contact(r, actor=request.user, note=d["contact_note"]),
        ContactForm,
    )


@login_required
@require_POST
def feedback(request, uuid):
    return _step(
        request,
        uuid,
        lambda r, d: services.record_feedback(r, actor=request.user, text=d["feedback"]),
        FeedbackForm,
    )


@login_required
@require_POST
def close(request, uuid):
    return _step(request, uuid, lambda r, d: services.close(r, actor=request.user))


@login_required
@require_POST
def merge(request, uuid):
    def run(report, data):
        primary = (
            Report.objects.visible_to(request.user, access.CHANGE)
            .filter(number=data["primary"].strip())
            .first()
        )
        if primary is None:
            raise ValidationError({"primary": _("找不到主报告 %(n)s (not found)") % {"n": data["primary"]}})
        services.merge(report, primary, actor=request.user, reason=data["reason"])

    return _step(request, uuid, run, MergeForm)


@login_required
@require_POST
def link_person(request, uuid):
    def run(report, data):
        key = uuid_or_none(request.POST.get("person"))
        if request.POST.get("person") and key is None:
            raise ValidationError({"person": _("登记人员编号无效 (person: not a valid id)")})
        person = (
            Person.objects.visible_to(request.user, access.CHANGE).filter(uuid=key).first() if key else None
        )
        if person is None:
            raise ValidationError({"person": _("请选择登记人员 (choose a person)")})
        services.link_to_person(report, person, actor=request.user)

    return _step(request, uuid, run)


@login_required
def attachment(request, uuid):
    """Scoped (only those who see the report's details) and audited download."""
    item = get_object_or_404(Attachment.objects.select_related("report"), uuid=uuid)
    report = Report.objects.visible_to(request.user).filter(pk=item.report_id).first()
    if report is None or not access.may_see_report_details(request.user, report):
        raise Http404
    try:
        handle = open(files.path_of(item), "rb")  # noqa: SIM115 (FileResponse closes it)
    except (OSError, ValidationError):  # the file is gone or its path is bad: not found, not a 500
        raise Http404 from None
    record(request.user, AuditAction.VIEW, report, extra={"attachment": item.filename})
    response = FileResponse(
        handle,
        content_type=CONTENT_TYPES[item.kind],
        as_attachment=True,
        filename=item.filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def export(request):
    reports = (
        Report.objects.visible_to(request.user, access.EXPORT)
        .select_related("district", "police", "workstation", "reporter_org__type")
        .order_by("created")
    )
    if not reports.exists() and not access.may_view_report_figures(request.user):
        raise PermissionDenied
    record(request.user, AuditAction.EXPORT, object_type="reports.report", object_repr=_("强制报告清单"),
           extra={"rows": reports.count()})  # fmt: skip
    header = [_("报告编号"), _("渠道"), _("情形"), _("紧急程度"), _("状态"), _("接报时间"), _("所属区"),
              _("接报公安机关"), _("街镇工作站"), _("报告单位类型"), _("公安决定"), _("决定时间"), _("反馈时间")]  # fmt: skip
    rows = (
        [r.number, r.get_channel_display(), r.get_situation_display(), r.get_urgency_display(), r.get_status_display(),
         timezone.localtime(r.created).strftime("%Y-%m-%d %H:%M"), str(r.district or ""), str(r.police or ""),
         str(r.workstation or ""), str(r.reporter_org.type if r.reporter_org_id else ""), r.get_decision_display(),
         timezone.localtime(r.decided_at).strftime("%Y-%m-%d %H:%M") if r.decided_at else "",
         timezone.localtime(r.feedback_at).strftime("%Y-%m-%d %H:%M") if r.feedback_at else ""]
        for r in reports.iterator()
    )  # fmt: skip
    return csv_response("reports.csv", header, rows)


# --- public -------------------------------------------------------------------------------------------------


def public_report(request):
    """Anyone, without logging in, anonymous or named. Every submission is kept; refusals say why."""
    if request.method == "POST":
        form = PublicReportForm(request.POST)
        address = intake.client_address(request)
        size = sum(len(v) for v in request.POST.values())
        try:
            intake.check_rate(channel=Channel.PUBLIC, address=address)
            if request.POST.get("website"):
                raise intake.Refused("spam", _("提交未被接受 (refused)"))
            intake.check_text(request.POST.get("description", ""))
            if not form.is_valid():
                raise intake.Refused("invalid", _("请按提示修改后再提交 (please correct the form)"))
            report = form.to_report(
                channel=Channel.PUBLIC,
                reporter_name=form.cleaned_data.get("reporter_name", "").strip(),
                reporter_contact=form.cleaned_data.get("reporter_contact", "").strip(),
            )
            try:
                services.create_report(report, actor=None)
            except ValidationError as exc:
                raise intake.refuse_invalid(exc) from None
        except intake.Refused as refused:
            intake.keep(
                channel=Channel.PUBLIC, accepted=False, address=address, refusal=refused.refusal,
                detail=refused.message, size=size,
            )  # fmt: skip
            for field, errors in refused.errors.items():
                if field in form.fields:
                    if not form.has_error(field):
                        form.add_error(field, errors)
                elif refused.refusal == Refusal.INVALID:  # a model check the form does not make
                    form.add_error(None, errors)
            return render(
                request, "reports/public_form.html", {"form": form, "refused": refused.message},
                status=refused.status if refused.status == 429 else 200,
            )  # fmt: skip
        intake.keep(channel=Channel.PUBLIC, accepted=True, address=address, report=report, size=size)
        request.session["public_report"] = report.number
        return redirect("reports:public_thanks")
    return render(request, "reports/public_form.html", {"form": PublicReportForm()})


def public_thanks(request):
    number = request.session.get("public_report")
    if not number:
        return redirect("reports:public")
    return render(request, "reports/public_thanks.html", {"number": number})


# --- figures -----------------------------------------------------------------------------------------------


@login_required
def figures_page(request):
    if not access.may_view_report_figures(request.user):
        raise PermissionDenied
    reports = Report.objects.visible_to(request.user, access.COUNT).live()  # sensitive ones counted too
    table = figures.by_type_and_district(reports)
    silent = figures.silent_bodies(request.user)
    return render(
        request,
        "reports/figures.html",
        {
            "table": table,
            "chart": figures.chart_rows(table),
            "silent": silent[:500],
            "silent_count": len(silent),
            "total": reports.count(),
            "urgent": reports.filter(urgency=Urgency.URGENT).count(),
        },
    )
