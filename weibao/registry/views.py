import uuid as uuid_module

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Prefetch, Subquery
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import generic

from weibao.accounts import access
from weibao.accounts.views import add_form_errors
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.export import csv_response
from weibao.lib.forms import ReasonForm
from weibao.lib.views import (
    RoleRequiredMixin,
    ScopedDetailView,
    ScopedListView,
    ScopedObjectMixin,
    form_error_lines,
    report_form_errors,
)

from . import services
from .choices import PersonKind
from .forms import (
    CategoryEditForm,
    CategoryForm,
    DocumentForm,
    GuardianForm,
    PersonForm,
    PersonSearchForm,
)
from .models import (
    Category,
    DepartmentLink,
    Guardianship,
    IdentityDocument,
    MatchCandidate,
    MergeRecord,
    Person,
    PersonCategory,
)
from .search import masked_filters, name_query
from .timeline import timeline


def search(queryset, form):
    """Name in characters, pinyin (full or initials: ``zs`` finds 张三) or a document number; minors unless the
    form asks for adults (guardians) or everyone."""
    kind = form.cleaned_data["kind"] if form.is_valid() else ""
    if kind != PersonSearchForm.EVERYONE:
        queryset = queryset.filter(kind=kind or PersonKind.MINOR)
    if form.is_valid():
        d = form.cleaned_data
        q = (d["q"] or "").strip()
        if q:
            queryset = queryset.filter(name_query(q))
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
        self.show_risk = access.can_view_alerts(self.request.user)  # risk column (weibao.alerts)
        if self.show_risk:
            # the risk the user may see: in the alert scope (RiskSummary.visible_to), not the person scope
            from weibao.alerts.models import RiskSummary

            visible_risk = RiskSummary.objects.visible_to(self.request.user)
            qs = qs.annotate(
                risk_score=Subquery(visible_risk.filter(person=OuterRef("pk")).values("score")[:1])
            )
            if self.request.GET.get("sort") == "risk":
                qs = qs.order_by(F("risk_score").desc(nulls_last=True), "name", "pk")
        if self.search_form.is_valid() and any(self.search_form.cleaned_data.values()):
            record(
                self.request.user,
                AuditAction.SEARCH,
                object_type="registry.person",
                extra=masked_filters({k: str(v) for k, v in self.search_form.cleaned_data.items() if v}),
            )
        return qs

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            search_form=self.search_form,
            may_export=access.person_q(user, access.EXPORT) is not None,
            may_create=access.can_create_persons(user),
            show_risk=self.show_risk,
            sort_risk=self.show_risk and self.request.GET.get("sort") == "risk",
            **kwargs,
        )


class PersonDetailView(ScopedDetailView):
    """One page per child: identity, documents, guardians, categories and the timeline. Audited."""

    model = Person
    template_name = "registry/person_detail.html"

    def get_queryset(self):
        links = DepartmentLink.objects.select_related("organisation")  # shown on the page, one query for all
        return super().get_queryset().prefetch_related(Prefetch("department_links", links))

    def get_object(self, queryset=None):
        person = super().get_object(queryset)
        record(self.request.user, AuditAction.VIEW, person)
        return person

    def get_context_data(self, **kwargs):
        user, person = self.request.user, self.object
        may_change = Person.objects.visible_to(user, access.CHANGE).filter(pk=person.pk).exists()
        visible = Person.objects.visible_to(user)
        household = (
            visible.filter(household=person.household_id).exclude(pk=person.pk) if person.household_id else []
        )
        return super().get_context_data(
            may_change=may_change,
            may_see_full_id=access.may_see_full_id(user, person),
            documents=IdentityDocument.objects.visible_to(user).filter(person=person),
            guardians=Guardianship.objects.filter(minor=person, guardian__in=visible).select_related(
                "guardian"
            ),
            wards=Guardianship.objects.filter(guardian=person, minor__in=visible).select_related("minor"),
            categories=PersonCategory.objects.visible_to(user)
            .filter(person=person)
            .select_related("category", "source"),
            household=household,
            merges=MergeRecord.objects.filter(survivor=person, split_at__isnull=True).select_related(
                "absorbed"
            ),
            entries=timeline(person, user),
            document_form=DocumentForm() if may_change else None,
            guardian_form=GuardianForm() if may_change else None,
            category_form=CategoryForm() if may_change else None,
            **kwargs,
        )


def _changeable_person(request, uuid):
    return get_object_or_404(Person.objects.visible_to(request.user, access.CHANGE), uuid=uuid)


def _person_action(form_class, write, done_message):
    """A POST from a form on the person page: write through a service, report errors, back to the page."""

    @login_required
    def view(request, uuid):
        person = _changeable_person(request, uuid)
        if request.method != "POST":
            return redirect("registry:person_detail", uuid=person.uuid)
        form = form_class(request.POST, person=person)
        if form.is_valid():
            try:
                write(request, person, form.cleaned_data)
                messages.success(request, done_message)
            except ValidationError as exc:
                add_form_errors(form, exc)
        report_form_errors(request, form)
        return redirect("registry:person_detail", uuid=person.uuid)

    return view


def _write_document(request, person, d):
    services.add_document(person, d["type"], d["number"], actor=request.user, reason=d["reason"])


@transaction.atomic
def _write_guardian(request, person, d):
    if d["guardian"]:
        guardian = get_object_or_404(
            Person.objects.visible_to(request.user, access.CHANGE), uuid=d["guardian"]
        )
    else:
        guardian = services.save_person(
            Person(kind="adult", name=d["name"], street=person.street, household=person.household),
            actor=request.user,
            reason=_("登记监护人"),
        )
    services.add_guardianship(
        Guardianship(
            minor=person, guardian=guardian, relation=d["relation"], since=d["since"], until=d["until"]
        ),
        actor=request.user,
    )


def _write_category(request, person, d):
    services.add_category(
        PersonCategory(person=person, category=d["category"], since=d["since"], until=d["until"]),
        actor=request.user,
    )


person_add_document = _person_action(DocumentForm, _write_document, gettext_lazy("证件已登记。"))
person_add_guardian = _person_action(GuardianForm, _write_guardian, gettext_lazy("监护关系已登记。"))
person_add_category = _person_action(CategoryForm, _write_category, gettext_lazy("类别已登记。"))


@login_required
def document_reveal(request, pk):
    """HTMX: swap the masked number for the whole one — allowed roles only, and audited."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    document = get_object_or_404(IdentityDocument.objects.visible_to(request.user), pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        errors = "；".join(form_error_lines(form))
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    number = services.reveal_document(document, actor=request.user, reason=form.cleaned_data["reason"])
    return HttpResponse(format_html('<span class="wb-mono" id="doc-{}">{}</span>', document.pk, number))


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
    if access.person_q(request.user, access.EXPORT) is None:
        raise PermissionDenied
    if form.is_bound and not form.is_valid():  # never widen an export by dropping a filter silently
        errors = "；".join(form_error_lines(form))
        return HttpResponse(f"导出条件有误：{errors}", status=400, content_type="text/plain; charset=utf-8")
    qs = search(Person.objects.visible_to(request.user, access.EXPORT), form).select_related(
        "street", "street__parent"
    )
    record(
        request.user,
        AuditAction.EXPORT,
        object_type="registry.person",
        object_repr="persons.csv",
        extra={"rows": qs.count(), "filters": masked_filters(request.GET.dict())},
    )
    rows = (
        [
            p.uuid,
            p.name,
            p.get_sex_display(),
            p.birth_date or "",
            p.street.parent.name if p.street_id else "",
            p.street.name if p.street_id else "",
        ]
        for p in qs.iterator(chunk_size=2000)
    )
    return csv_response("persons.csv", ["编号", "姓名", "性别", "出生日期", "区", "街镇"], rows)


class CategoryListView(RoleRequiredMixin, generic.ListView):
    """The configurable list of person categories."""

    model = Category
    template_name = "registry/category_list.html"

    def allowed(self, user):
        return access.can_configure_catalogues(user)


class CategoryEditView(RoleRequiredMixin, generic.UpdateView):
    model = Category
    form_class = CategoryEditForm
    template_name = "registry/category_form.html"

    def allowed(self, user):
        return access.can_configure_catalogues(user)

    def get_object(self, queryset=None):
        return get_object_or_404(Category, pk=self.kwargs["pk"]) if "pk" in self.kwargs else None

    def form_valid(self, form):
        try:
            services.save_category(form.instance, actor=self.request.user)
        except ValidationError as exc:
            add_form_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("人员类别已保存。"))
        return redirect("registry:category_list")


# --- review queue, merge and split ----------------------------------------------------------------

COMPARED_FIELDS = [
    (gettext_lazy("姓名"), lambda p: p.name),
    (gettext_lazy("拼音"), lambda p: p.name_pinyin),
    (gettext_lazy("性别"), lambda p: p.get_sex_display()),
    (gettext_lazy("出生日期"), lambda p: p.birth_date.isoformat() if p.birth_date else ""),
    (gettext_lazy("街镇"), lambda p: p.street.full_name if p.street_id else ""),
    (gettext_lazy("住址"), lambda p: p.address),
    (gettext_lazy("联系电话"), lambda p: p.phone),
    (gettext_lazy("证件"), lambda p: "、".join(sorted(d.number_masked for d in p.documents.all()))),
    (gettext_lazy("监护人"), lambda p: "、".join(sorted(g.guardian.name for g in p.guardianships.all()))),
]


def reviewable_candidates(user):
    changeable = Person.objects.visible_to(user, access.CHANGE)
    # only the guardians the reviewer may see, as on the person page
    guardians = Guardianship.objects.filter(guardian__in=Person.objects.visible_to(user)).select_related(
        "guardian"
    )
    return (
        MatchCandidate.objects.visible_to(user, access.CHANGE)
        .filter(status=MatchCandidate.Status.PENDING, other__in=changeable, person__merged_into__isnull=True)
        .select_related("person__street__parent", "other__street__parent")
        .prefetch_related(
            "person__documents",
            "other__documents",
            Prefetch("person__guardianships", queryset=guardians),
            Prefetch("other__guardianships", queryset=guardians),
        )
    )


@login_required
def review_queue(request):
    """One pair at a time, side by side; keyboard: S same child, D not the same, K skip."""
    if not access.can_create_persons(request.user):
        raise PermissionDenied
    if request.method == "POST":
        try:
            key = uuid_module.UUID(request.POST.get("candidate", ""))
        except ValueError:
            messages.error(request, _("复核对象无效，请刷新页面后重试"))
            return redirect("registry:review_queue")
        candidate = get_object_or_404(reviewable_candidates(request.user), uuid=key)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            report_form_errors(request, form)
            return redirect("registry:review_queue")
        try:
            services.decide_candidate(
                candidate,
                request.POST.get("decision", ""),
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
            messages.success(
                request, _("已记录：%(d)s") % {"d": MatchCandidate.Status(request.POST["decision"]).label}
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return redirect("registry:review_queue")
    queue = reviewable_candidates(request.user)
    candidate = queue.first()
    rows = []
    if candidate:
        for person in (candidate.person, candidate.other):  # the page shows both records whole
            record(request.user, AuditAction.VIEW, person, reason=_("匹配复核"))
        for label, value in COMPARED_FIELDS:
            left, right = value(candidate.person), value(candidate.other)
            rows.append(
                (
                    label,
                    left,
                    right,
                    bool(left) and left == right,
                    bool(left) and bool(right) and left != right,
                )
            )
    return render(
        request,
        "registry/review_queue.html",
        {
            "candidate": candidate,
            "rows": rows,
            "waiting": queue.count(),
            "quality": services.review_precision(),
        },
    )


@login_required
def person_split(request, uuid, merge):
    person = _changeable_person(request, uuid)
    record_ = get_object_or_404(MergeRecord, uuid=merge, survivor=person)
    if request.method == "POST":
        form = ReasonForm(request.POST)
        if not form.is_valid():
            report_form_errors(request, form)
            return redirect("registry:person_detail", uuid=person.uuid)
        try:
            restored = services.split_merge(record_, actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("已拆分，恢复人员“%(name)s”。") % {"name": restored.name})
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
    return redirect("registry:person_detail", uuid=person.uuid)
