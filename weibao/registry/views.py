from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import generic

from weibao.accounts import access
from weibao.accounts.views import add_form_errors
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.export import csv_response
from weibao.lib.views import RoleRequiredMixin, ScopedDetailView, ScopedListView, ScopedObjectMixin

from . import services
from .forms import PersonForm, PersonSearchForm
from .models import Person


def search(queryset, form):
    if form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            queryset = queryset.filter(name__contains=d["q"].strip())
        if d["birth_date"]:
            queryset = queryset.filter(birth_date=d["birth_date"])
        if d["street"]:
            queryset = queryset.filter(street=d["street"])
    return queryset


class PersonListView(ScopedListView):
    model = Person
    template_name = "registry/person_list.html"

    def get_queryset(self):
        self.search_form = PersonSearchForm(self.request.GET or None)
        qs = search(super().get_queryset().select_related("street", "street__parent"), self.search_form)
        if self.search_form.is_valid() and any(self.search_form.cleaned_data.values()):
            record(
                self.request.user,
                AuditAction.SEARCH,
                object_type="registry.person",
                extra={k: str(v) for k, v in self.search_form.cleaned_data.items() if v},
            )
        return qs

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            search_form=self.search_form,
            may_export=access.person_q(user, access.EXPORT) is not None,
            may_create=access.can_create_persons(user),
            **kwargs,
        )


class PersonDetailView(ScopedDetailView):
    model = Person
    template_name = "registry/person_detail.html"

    def get_object(self, queryset=None):
        person = super().get_object(queryset)
        record(self.request.user, AuditAction.VIEW, person)
        return person

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            may_change=Person.objects.visible_to(self.request.user, access.CHANGE)
            .filter(pk=self.object.pk)
            .exists(),
            **kwargs,
        )


class PersonEditView(ScopedObjectMixin, generic.UpdateView):
    model = Person
    form_class = PersonForm
    template_name = "registry/person_form.html"

    def form_valid(self, form):
        try:
            person = services.save_person(
                form.instance, actor=self.request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
            return self.form_invalid(form)
        except PermissionDenied:
            form.add_error("street", _("该街镇不在您的管辖范围内"))
            return self.form_invalid(form)
        messages.success(self.request, _("已保存。"))
        return redirect("registry:person_detail", uuid=person.uuid)


class PersonCreateView(RoleRequiredMixin, PersonEditView):
    def allowed(self, user):
        return access.can_create_persons(user)

    def get_object(self, queryset=None):
        return None


@login_required
def person_export(request):
    """CSV of the persons the user may export, filtered like the list; the export itself is audited."""
    form = PersonSearchForm(request.GET or None)
    qs = search(Person.objects.visible_to(request.user, access.EXPORT), form).select_related(
        "street", "street__parent"
    )
    if access.person_q(request.user, access.EXPORT) is None:
        raise PermissionDenied
    record(
        request.user,
        AuditAction.EXPORT,
        object_type="registry.person",
        object_repr="persons.csv",
        extra={"rows": qs.count(), "filters": request.GET.dict()},
    )
    rows = (
        [p.uuid, p.name, p.get_sex_display(), p.birth_date or "", p.street.parent.name, p.street.name]
        for p in qs.iterator(chunk_size=2000)
    )
    return csv_response("persons.csv", ["编号", "姓名", "性别", "出生日期", "区", "街镇"], rows)
