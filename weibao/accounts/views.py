import base64

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import generic
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.export import csv_response
from weibao.lib.views import RoleRequiredMixin, ScopedDetailView, ScopedListView, ScopedObjectMixin

from . import access, services
from .forms import (
    ImportForm,
    OrganisationFilterForm,
    OrganisationForm,
    OtpForm,
    RoleAssignmentForm,
    TokenForm,
    UserForm,
)
from .imports import import_organisations
from .models import ApiToken, Organisation, RoleAssignment, User


def add_form_errors(form, exc: ValidationError):
    """Put a service's ``ValidationError`` beside the fields it names."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


def _safe_next(request, default="ui:home"):
    target = request.GET.get("next") or request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse(default)


def _throttled(form, device) -> bool:
    """django-otp doubles the wait after each wrong code; say so instead of silently refusing."""
    allowed, data = device.verify_is_allowed()
    if allowed:
        return False
    wait = (data or {}).get("locked_until")
    seconds = max(1, int((wait - timezone.now()).total_seconds()) + 1) if wait else 1
    form.add_error("token", _("尝试过于频繁，请 %(s)d 秒后再试") % {"s": seconds})
    return True


@login_required
def otp_setup(request):
    """First login of a role that needs a second factor: show a QR code, confirm one code."""
    if any(True for _ in devices_for_user(request.user, confirmed=True)):
        return redirect(f"{reverse('accounts:otp_verify')}?next={_safe_next(request)}")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="default", confirmed=False)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _throttled(form, device):
        pass
    elif request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            record(request.user, AuditAction.SECOND_FACTOR, request.user, extra={"enrolled": True})
            messages.success(request, _("动态验证码已绑定。"))
            return redirect(_safe_next(request))
        record(request.user, AuditAction.SECOND_FACTOR_FAILED, request.user, extra={"enrolled": False})
        form.add_error("token", _("验证码不正确，请检查手机时间后重试"))
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr_svg": qr.svg_data_uri(scale=5),
        "secret": base64.b32encode(device.bin_key).decode(),
        "next": _safe_next(request),
    }
    return render(request, "accounts/otp_setup.html", context)


@login_required
def otp_verify(request):
    form = OtpForm(request.POST or None)
    devices = list(devices_for_user(request.user, confirmed=True))
    if request.method == "POST" and form.is_valid() and any(_throttled(form, d) for d in devices):
        pass
    elif request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                record(request.user, AuditAction.SECOND_FACTOR, request.user)
                return redirect(_safe_next(request))
        record(request.user, AuditAction.SECOND_FACTOR_FAILED, request.user)
        form.add_error("token", _("验证码不正确或已过期"))
    return render(request, "accounts/otp_verify.html", {"form": form, "next": _safe_next(request)})


# --- organisations -------------------------------------------------------------------------------


class OrganisationListView(ScopedListView):
    model = Organisation
    template_name = "accounts/organisation_list.html"

    def get_queryset(self):
        qs = super().get_queryset().select_related("type", "area", "area__parent", "parent")
        self.filter_form = OrganisationFilterForm(self.request.GET or None)
        if self.filter_form.is_valid():
            data = self.filter_form.cleaned_data
            if data["q"]:
                qs = qs.filter(
                    Q(name__icontains=data["q"])
                    | Q(short_name__icontains=data["q"])
                    | Q(uscc=data["q"].upper())
                )
            if data["type"]:
                qs = qs.filter(type=data["type"])
            if data["district"]:
                qs = qs.filter(Q(area=data["district"]) | Q(area__parent=data["district"]))
        return qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filter_form=self.filter_form,
            may_change=Organisation.objects.visible_to(self.request.user, access.CHANGE).exists(),
            **kwargs,
        )


class OrganisationDetailView(ScopedDetailView):
    model = Organisation
    template_name = "accounts/organisation_detail.html"

    def get_context_data(self, **kwargs):
        org = self.object
        return super().get_context_data(
            children=org.children.select_related("type").order_by("type__sort_order", "name")[:200],
            may_change=Organisation.objects.visible_to(self.request.user, access.CHANGE)
            .filter(pk=org.pk)
            .exists(),
            **kwargs,
        )


class OrganisationEditView(ScopedObjectMixin, generic.UpdateView):
    model = Organisation
    form_class = OrganisationForm
    template_name = "accounts/organisation_form.html"

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"user": self.request.user}

    def form_valid(self, form):
        try:
            org = services.save_organisation(form.instance, actor=self.request.user)
        except ValidationError as exc:
            add_form_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("已保存“%(name)s”。") % {"name": org.name})
        return redirect("accounts:organisation_detail", uuid=org.uuid)


class OrganisationCreateView(RoleRequiredMixin, OrganisationEditView):
    def allowed(self, user):
        return access.can_manage_organisations(user)

    def get_object(self, queryset=None):
        return None

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except PermissionDenied:
            form.add_error("area", _("该区域不在您的管理范围内"))
            return self.form_invalid(form)


class OrganisationImportView(RoleRequiredMixin, generic.FormView):
    form_class = ImportForm
    template_name = "accounts/organisation_import.html"

    def allowed(self, user):
        return access.can_manage_organisations(user)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        result = import_organisations(upload.name, upload.read(), actor=self.request.user)
        if result.ok:
            messages.success(
                self.request,
                _("导入完成：新增 %(c)d 个，更新 %(u)d 个。") % {"c": result.created, "u": result.updated},
            )
            return redirect("accounts:organisation_list")
        return self.render_to_response(self.get_context_data(form=form, result=result))


@login_required
def organisation_export(request):
    qs = Organisation.objects.visible_to(request.user, access.EXPORT).select_related("type", "area", "parent")
    if not access.can_manage_organisations(request.user):
        raise Http404
    record(
        request.user,
        AuditAction.EXPORT,
        object_type="accounts.organisation",
        object_repr="organisations.csv",
        extra={"rows": qs.count()},
    )
    header = ["名称", "简称", "类型", "区域", "上级单位", "统一社会信用代码", "地址", "联系电话"]
    rows = (
        [
            o.name,
            o.short_name,
            o.type.code,
            o.area.code,
            o.parent.name if o.parent else "",
            o.uscc,
            o.address,
            o.phone,
        ]
        for o in qs.iterator(chunk_size=2000)
    )
    return csv_response("organisations.csv", header, rows)


# --- users and roles -----------------------------------------------------------------------------


class UserListView(ScopedListView):
    model = User
    template_name = "accounts/user_list.html"

    def get_queryset(self):
        if not access.can_list_users(self.request.user):
            raise Http404
        qs = super().get_queryset().annotate(n_roles=Count("role_assignments")).order_by("username")
        q = self.request.GET.get("q", "").strip()
        if q:
            qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q))
        return qs.prefetch_related("role_assignments__organisation")

    def get_context_data(self, **kwargs):
        return super().get_context_data(may_create=access.can_manage_users(self.request.user), **kwargs)


class UserDetailView(ScopedDetailView):
    model = User
    template_name = "accounts/user_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        may_grant = access.can_grant_roles(user) and self.object.pk != user.pk
        form = kwargs.pop("grant_form", None) or (RoleAssignmentForm() if may_grant else None)
        return super().get_context_data(
            assignments=RoleAssignment.objects.visible_to(user)
            .filter(user=self.object)
            .select_related("organisation", "area"),
            grant_form=form,
            may_edit=User.objects.visible_to(user, access.CHANGE).filter(pk=self.object.pk).exists(),
            locked_out=services.is_locked_out(self.object),
            may_unlock=access.can_grant_roles(user),
            has_second_factor=TOTPDevice.objects.filter(user=self.object, confirmed=True).exists(),
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        """Grant a role (security administrators)."""
        self.object = self.get_object()
        if not access.can_grant_roles(request.user):
            raise PermissionDenied
        form = RoleAssignmentForm(request.POST, instance=RoleAssignment(user=self.object))
        if form.is_valid():
            try:
                services.grant_role(form.instance, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_form_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("无权授予该角色"))
            else:
                messages.success(request, _("已授予角色。"))
                return redirect("accounts:user_detail", uuid=self.object.uuid)
        return self.render_to_response(self.get_context_data(grant_form=form))


class UserEditView(ScopedObjectMixin, generic.UpdateView):
    model = User
    form_class = UserForm
    template_name = "accounts/user_form.html"

    def form_valid(self, form):
        try:
            user = services.save_user(
                form.instance, actor=self.request.user, password=form.cleaned_data["password"] or None
            )
        except ValidationError as exc:
            form.add_error("password", exc.messages) if not hasattr(exc, "error_dict") else add_form_errors(
                form, exc
            )
            return self.form_invalid(form)
        messages.success(self.request, _("账户已保存。"))
        return redirect("accounts:user_detail", uuid=user.uuid)


class UserCreateView(RoleRequiredMixin, UserEditView):
    def allowed(self, user):
        return access.can_manage_users(user)

    def get_object(self, queryset=None):
        return None


def _security_action(service, done_message):
    """A security administrator's POST action on an account (with a reason), back to the account page."""

    @login_required
    def view(request, uuid):
        user = get_object_or_404(User.objects.visible_to(request.user), uuid=uuid)
        if request.method == "POST":
            try:
                service(user, actor=request.user, reason=request.POST.get("reason", ""))
                messages.success(request, done_message)
            except (PermissionDenied, ValidationError) as exc:
                messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("accounts:user_detail", uuid=user.uuid)

    return view


user_unlock = _security_action(services.unlock_user, gettext_lazy("已解除锁定。"))
user_reset_second_factor = _security_action(
    services.reset_second_factor, gettext_lazy("已重置动态验证码，该用户下次登录时重新绑定。")
)


@login_required
def role_revoke(request, pk):
    if request.method != "POST":
        return redirect("ui:home")
    assignment = get_object_or_404(RoleAssignment.objects.visible_to(request.user, access.CHANGE), pk=pk)
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, _("撤销角色须填写事由。"))
    else:
        try:
            services.revoke_role(assignment, actor=request.user, reason=reason)
            messages.success(request, _("已撤销角色。"))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
    return redirect("accounts:user_detail", uuid=assignment.user.uuid)


# --- API tokens ----------------------------------------------------------------------------------


@login_required
def tokens(request):
    if not access.may_manage_tokens(request.user):
        raise PermissionDenied
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = services.create_token(
                actor=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": ApiToken.objects.filter(user=request.user),
        },
    )


@login_required
def token_revoke(request, uuid):
    token = get_object_or_404(ApiToken, uuid=uuid, user=request.user)
    if request.method == "POST":
        services.revoke_token(token, actor=request.user)
        messages.success(request, _("令牌已吊销。"))
    return redirect("accounts:tokens")
