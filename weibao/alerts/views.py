"""Pages: rules (city office: list, create/edit with dry run, activate/retire, history, YAML in and out)
and alerts (scoped list with filters, detail with evidence and reasons, state buttons)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from weibao.accounts import access
from weibao.accounts.views import add_form_errors
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.cases.models import Case
from weibao.lib.forms import ReasonForm
from weibao.lib.views import RoleRequiredMixin, ScopedDetailView, ScopedListView, report_form_errors
from weibao.notifications.services import workstation

from . import services
from .choices import OPEN_STATES, TRANSITIONS, AlertState, RuleStatus
from .conditions import compile_sql
from .forms import AlertFilterForm, ImportForm, RuleForm, TransitionForm, definition_text
from .models import Alert, Rule

SAMPLE = 10


def _dry_run_context(user, definition) -> dict:
    count, sample = services.dry_run_sample(user, definition, limit=SAMPLE)
    return {"count": count, "sample": sample}


# --- rules ----------------------------------------------------------------------------------------------


class RuleListView(RoleRequiredMixin, ScopedListView):
    """For those who may read rules (``access.can_read_rules``); others get a 403, not an empty list that
    would say there are no rules."""

    model = Rule
    template_name = "alerts/rule_list.html"

    def allowed(self, user):
        return access.can_read_rules(user)

    def get_queryset(self):
        return super().get_queryset().select_related("current__level")

    def get_context_data(self, **kwargs):
        may_manage = access.can_manage_rules(self.request.user)
        return super().get_context_data(
            may_manage=may_manage, import_form=ImportForm() if may_manage else None, **kwargs
        )


class RuleDetailView(ScopedDetailView):
    model = Rule
    template_name = "alerts/rule_detail.html"

    def get_context_data(self, **kwargs):
        rule = self.object
        return super().get_context_data(
            may_manage=access.can_manage_rules(self.request.user),
            definition=definition_text(rule.current.definition),
            sql=compile_sql(rule.current.definition),
            versions=rule.versions.select_related("level", "created_by"),
            open_alerts=Alert.objects.visible_to(self.request.user).open().filter(rule=rule).count(),
            **kwargs,
        )


class RuleEditView(RoleRequiredMixin, ScopedDetailView):
    """Create (no uuid) or edit (new version). The "dry run" button evaluates the form without saving."""

    model = Rule
    action = access.CHANGE
    template_name = "alerts/rule_form.html"

    def allowed(self, user):
        return access.can_manage_rules(user)

    def get_object(self, queryset=None):
        return super().get_object(queryset) if "uuid" in self.kwargs else None

    def initial(self, rule):
        if rule is None:
            return {"deadline_hours": 72, "recipient": "workstation", "definition": ""}
        v = rule.current
        return {
            "name": v.name,
            "description": v.description,
            "level": v.level,
            "recipient": v.recipient,
            "deadline_hours": v.deadline_hours,
            "definition": definition_text(v.definition),
        }

    def get(self, request, *args, **kwargs):
        self.object = rule = self.get_object()
        form = RuleForm(initial=self.initial(rule), editing=rule is not None)
        return render(request, self.template_name, {"form": form, "rule": rule})

    def post(self, request, *args, **kwargs):
        self.object = rule = self.get_object()
        form = RuleForm(request.POST, editing=rule is not None)
        context = {"form": form, "rule": rule}
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if "dry_run" in request.POST:
                    context["dry_run"] = _dry_run_context(request.user, data["definition"])
                else:
                    rule = services.save_rule(
                        actor=request.user,
                        data=data,
                        rule=rule,
                        code=data.get("code", ""),
                        reason=data["reason"],
                    )
                    messages.success(request, _("已保存为第 %(n)s 版") % {"n": rule.current.number})
                    return redirect("alerts:rule_detail", uuid=rule.uuid)
            except ValidationError as exc:
                add_form_errors(form, exc)
        return render(request, self.template_name, context, status=200 if form.is_valid() else 400)


@login_required
@require_POST
def rule_status(request, uuid, status):
    rule = get_object_or_404(Rule.objects.visible_to(request.user, access.CHANGE), uuid=uuid)
    if status not in (RuleStatus.ACTIVE, RuleStatus.RETIRED):
        raise PermissionDenied
    form = ReasonForm(request.POST)
    if not form.is_valid():
        report_form_errors(request, form)
        return redirect("alerts:rule_detail", uuid=rule.uuid)
    try:
        services.set_status(rule, status, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, _("规则已%(s)s") % {"s": rule.get_status_display()})
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
    return redirect("alerts:rule_detail", uuid=rule.uuid)


@login_required
@require_POST
def rule_dry_run(request, uuid):
    rule = get_object_or_404(Rule.objects.visible_to(request.user, access.CHANGE), uuid=uuid)
    try:
        context = {"dry_run": _dry_run_context(request.user, rule.current.definition)}
    except ValidationError as exc:  # a stored definition that no longer validates (e.g. a code removed)
        return render(request, "alerts/dry_run_error.html", {"errors": exc.messages}, status=400)
    return render(request, "alerts/dry_run.html", context)


@login_required
@require_POST
def screen_now(request):
    """A full re-screen on demand (normally incremental after each feed batch, and nightly in full)."""
    if not access.can_manage_rules(request.user):
        raise PermissionDenied
    from .tasks import full_screen_pending, screen_all

    if full_screen_pending():  # a second click, or a colleague's: one city-wide run at a time
        messages.info(request, _("已有全量筛查在排队或进行中，完成后将通知发起人。"))
    else:
        screen_all.enqueue(request.user.pk)  # a city-wide run takes longer than a page may wait
        messages.success(request, _("已开始全量筛查，完成后将通知您。"))
    return redirect("alerts:rule_list")


@login_required
def rules_export(request):
    if not access.can_manage_rules(request.user):
        raise PermissionDenied
    rules = Rule.objects.visible_to(request.user, access.CHANGE).filter(current__isnull=False)
    rules = rules.select_related("current__level")
    record(request.user, AuditAction.EXPORT, object_type="alerts.rule", extra={"rules": rules.count()})
    response = HttpResponse(services.export_yaml(rules), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="weibao-rules.yaml"'
    return response


@login_required
@require_POST
def rules_import(request):
    if not access.can_manage_rules(request.user):
        raise PermissionDenied
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            text = form.cleaned_data["file"].read().decode("utf-8")
            saved = services.import_yaml(text, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("已导入 %(n)s 条规则") % {"n": len(saved)})
        except UnicodeDecodeError:
            messages.error(request, _("文件必须是 UTF-8 编码 (file must be UTF-8)"))
        except ValidationError as exc:
            for field, errs in exc.message_dict.items():
                for e in errs:
                    messages.error(request, f"{field}: {e}")
    else:
        report_form_errors(request, form)
    return redirect("alerts:rule_list")


# --- alerts ---------------------------------------------------------------------------------------------


class AlertListView(ScopedListView):
    model = Alert
    template_name = "alerts/alert_list.html"

    def get_queryset(self):
        self.filter_form = AlertFilterForm(self.request.GET or None)
        qs = super().get_queryset().select_related("rule_version__level", "person__street__parent")
        street = self.filter_form.fields["street"]
        street.queryset = street.queryset.filter(
            pk__in=qs.values("person__street")
        )  # streets with alerts in scope
        data = self.filter_form.cleaned_data if self.filter_form.is_valid() else {}
        qs = qs.filter(state=data["state"]) if data.get("state") else qs.open()
        if data.get("level"):
            qs = qs.filter(rule_version__level=data["level"])
        if data.get("street"):
            qs = qs.filter(person__street=data["street"])
        if data.get("overdue"):
            qs = qs.filter(deadline__lt=timezone.now())
        return qs.order_by("rule_version__level__order", "deadline", "pk")

    def get_context_data(self, **kwargs):
        return super().get_context_data(filter_form=self.filter_form, now=timezone.now(), **kwargs)


def _may_open_case(user, alert) -> bool:
    """Staff who may open a case at the workstation of the child's street (cases app, ``?alert=``)."""
    station = workstation(alert.person.street)
    return station is not None and access.may_open_case_at(user, station)


class AlertDetailView(ScopedDetailView):
    """The alert with its reasons (the rule version), evidence and history. Person-level: audited."""

    model = Alert
    template_name = "alerts/alert_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("rule_version__level", "person__street", "rule")

    def get_object(self, queryset=None):
        alert = super().get_object(queryset)
        record(self.request.user, AuditAction.VIEW, alert)
        return alert

    def get_context_data(self, **kwargs):
        user, alert = self.request.user, self.object
        may_change = Alert.objects.visible_to(user, access.CHANGE).filter(pk=alert.pk).exists()
        evidence = alert.visible_evidence(user).select_related("event_type", "source_organisation")
        next_states = TRANSITIONS.get(alert.state, ()) if may_change else ()
        return super().get_context_data(
            may_change=may_change,
            evidence=evidence.order_by("occurred_on"),
            transitions=alert.transitions.select_related("actor"),
            next_states=[(s, AlertState(s).label) for s in next_states],
            form=kwargs.pop("form", None) or TransitionForm(),
            overdue=alert.state in OPEN_STATES and alert.deadline < timezone.now(),
            cases=Case.objects.visible_to(user).filter(alert=alert).order_by("opened_at"),
            may_open_case=alert.state in OPEN_STATES and _may_open_case(user, alert),
            may_read_rules=access.can_read_rules(user),
            **kwargs,
        )


@login_required
@require_POST
def alert_transition(request, uuid):
    alert = get_object_or_404(Alert.objects.visible_to(request.user, access.CHANGE), uuid=uuid)
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            services.transition(alert, actor=request.user, **form.cleaned_data)
            messages.success(request, _("预警状态已更新"))
            return redirect("alerts:alert_detail", uuid=alert.uuid)
        except ValidationError as exc:
            add_form_errors(form, exc)
    view = AlertDetailView()
    view.setup(request, uuid=uuid)
    view.object = view.get_object()
    return render(request, view.template_name, view.get_context_data(form=form), status=400)
