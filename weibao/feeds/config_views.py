"""Configuring feeds: registering a department's feed and editing the event catalogue (data, not code)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import generic

from weibao.accounts import access
from weibao.accounts.models import Organisation
from weibao.accounts.views import add_form_errors
from weibao.audit.models import AuditAction
from weibao.audit.services import record, snapshot
from weibao.lib.views import RoleRequiredMixin

from . import services
from .catalogue import check_fields, format_fields
from .models import EventType, Feed


class FeedForm(forms.ModelForm):
    reason = forms.CharField(label=gettext_lazy("事由"), max_length=500, required=False)

    class Meta:
        model = Feed
        fields = ["code", "name", "owner", "carries", "event_type", "schema_version", "is_active"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = Organisation.objects.visible_to(user).filter(is_active=True)
        self.fields["event_type"].queryset = EventType.objects.filter(is_active=True)


class FeedEditView(RoleRequiredMixin, generic.UpdateView):
    """Register (or edit) a feed: owner organisation, what it carries, schema version."""

    model = Feed
    form_class = FeedForm
    template_name = "feeds/feed_form.html"

    def allowed(self, user):
        return access.may_register_feeds(user)

    def get_object(self, queryset=None):
        if "uuid" not in self.kwargs:
            return None
        return get_object_or_404(
            Feed.objects.visible_to(self.request.user, access.CHANGE), uuid=self.kwargs["uuid"]
        )

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"user": self.request.user}

    def form_valid(self, form):
        try:
            feed = services.save_feed(
                form.instance, actor=self.request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
            return self.form_invalid(form)
        except PermissionDenied:
            form.add_error("owner", _("该单位不在您的管理范围内"))
            return self.form_invalid(form)
        messages.success(self.request, _("报送渠道已保存。"))
        return redirect("feeds:feed_detail", uuid=feed.uuid)


class EventTypeForm(forms.ModelForm):
    fields_text = forms.CharField(
        label=gettext_lazy("字段定义"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "wb-mono"}),
        help_text=gettext_lazy(
            "每行一个字段：字段名|类型|是否必填(1/0)|名称|选项1/选项2。类型：string、integer、date、boolean、choice"
        ),
    )

    class Meta:
        model = EventType
        fields = [
            "code",
            "name",
            "name_en",
            "domain",
            "department_types",
            "organisations",
            "is_sensitive",
            "is_active",
            "sort_order",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fields_text"].initial = format_fields(self.instance.fields)
        self.fields["organisations"].required = False
        self.fields["department_types"].required = False

    def clean_fields_text(self):
        try:
            return check_fields(self.cleaned_data["fields_text"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class EventTypeListView(RoleRequiredMixin, generic.ListView):
    model = EventType
    template_name = "feeds/eventtype_list.html"

    def allowed(self, user):
        return access.can_configure_catalogues(user)

    def get_queryset(self):
        return EventType.objects.prefetch_related("department_types", "organisations")


class EventTypeEditView(RoleRequiredMixin, generic.UpdateView):
    """Edit the event catalogue: who may send an event type and the schema of its fields. Audited."""

    model = EventType
    form_class = EventTypeForm
    template_name = "feeds/eventtype_form.html"

    def allowed(self, user):
        return access.can_configure_catalogues(user)

    def get_object(self, queryset=None):
        return get_object_or_404(EventType, pk=self.kwargs["pk"]) if "pk" in self.kwargs else None

    @transaction.atomic
    def form_valid(self, form):
        fields = ["code", "name", "name_en", "domain", "fields", "is_sensitive", "is_active", "sort_order"]
        before = snapshot(EventType.objects.get(pk=form.instance.pk), fields) if form.instance.pk else {}
        form.instance.fields = form.cleaned_data["fields_text"]
        event_type = form.save()
        record(
            self.request.user,
            AuditAction.UPDATE if before else AuditAction.CREATE,
            event_type,
            before=before,
            after=snapshot(event_type, fields)
            | {
                "senders": sorted(
                    [t.code for t in event_type.department_types.all()]
                    + [o.name for o in event_type.organisations.all()]
                )
            },
        )
        messages.success(self.request, _("事件类型已保存。"))
        return redirect("feeds:eventtype_list")
