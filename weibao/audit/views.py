from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.views import generic

from weibao.accounts import access
from weibao.lib.widgets import DateInput

from .models import AuditAction, AuditEvent


class AuditFilterForm(forms.Form):
    q = forms.CharField(label=_("操作人或对象"), required=False)
    action = forms.ChoiceField(
        label=_("操作"), choices=[("", "—")] + list(AuditAction.choices), required=False
    )
    object_type = forms.CharField(label=_("对象类型"), required=False)
    ip = forms.GenericIPAddressField(label=_("IP 地址"), required=False)
    since = forms.DateField(label=_("起"), required=False, widget=DateInput())
    until = forms.DateField(label=_("止"), required=False, widget=DateInput())


class AuditListView(LoginRequiredMixin, generic.ListView):
    """The trail, read-only, for audit administrators."""

    template_name = "audit/event_list.html"
    paginate_by = 100

    def get_queryset(self):
        if not access.can_read_audit(self.request.user):
            raise Http404
        qs = AuditEvent.objects.visible_to(self.request.user)
        self.filter_form = AuditFilterForm(self.request.GET or None)
        if self.filter_form.is_valid():
            d = self.filter_form.cleaned_data
            if d["q"]:
                qs = qs.filter(
                    Q(actor_username__icontains=d["q"])
                    | Q(object_repr__icontains=d["q"])
                    | Q(object_id=d["q"])
                )
            if d["action"]:
                qs = qs.filter(action=d["action"])
            if d["object_type"]:
                qs = qs.filter(object_type=d["object_type"])
            if d["ip"]:
                qs = qs.filter(ip=d["ip"])
            if d["since"]:
                qs = qs.filter(at__date__gte=d["since"])
            if d["until"]:
                qs = qs.filter(at__date__lte=d["until"])
        return qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(filter_form=self.filter_form, **kwargs)


class AuditDetailView(LoginRequiredMixin, generic.DetailView):
    template_name = "audit/event_detail.html"
    slug_field = "seq"
    slug_url_kwarg = "seq"

    def get_queryset(self):
        if not access.can_read_audit(self.request.user):
            raise Http404
        return AuditEvent.objects.visible_to(self.request.user)
