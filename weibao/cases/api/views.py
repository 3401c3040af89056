"""The case API: every viewset starts from ``visible_to``; writes go through ``weibao.cases.services``.

A lookup of an existing case row outside the caller's scope is a 404 like a missing one, and is audited
as ``denied``.
"""

import django_filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from weibao.accounts import access
from weibao.alerts.choices import OPEN_STATES
from weibao.alerts.models import Alert
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.api import AuditedListMixin, ScopedViewSetMixin
from weibao.registry.models import Person
from weibao.reports.models import Report

from .. import services
from ..models import Approval, Assessment, Case, CaseTransition, Intervention, Note, PlanItem, Referral
from . import serializers as s


class CaseScopedViewSetMixin(ScopedViewSetMixin):
    """Scoped reads and writes, a denied-audit on out-of-scope lookups, and scoped choices for ``case``."""

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
            try:
                existing = self.scoped_model.objects.filter(**{self.lookup_field: value}).first()
            except (ValueError, TypeError, ValidationError):  # a malformed key is simply missing
                existing = None
            if existing is not None:
                record(self.request.user, AuditAction.DENIED, existing, extra={"action": self.scope_action()})
            raise

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        fields = getattr(serializer, "fields", {})
        user = self.request.user
        if "case" in fields and not fields["case"].read_only:
            fields["case"].queryset = Case.objects.visible_to(user, access.CHANGE)
        for name in ("person", "persons"):
            if name in fields and not fields[name].read_only:
                field = fields[name].child_relation if name == "persons" else fields[name]
                field.queryset = Person.objects.visible_to(user, access.CHANGE)
        # a case opens only from a report or an open alert the user may act on (as the page's form): others
        # do not exist for this user — no 403 that would tell a caller which ids exist
        if "report" in fields and not fields["report"].read_only:
            fields["report"].queryset = Report.objects.visible_to(user, access.CHANGE)
        if "alert" in fields and not fields["alert"].read_only:
            fields["alert"].queryset = Alert.objects.visible_to(user, access.CHANGE).filter(
                state__in=OPEN_STATES
            )
        return serializer


class CaseFilter(django_filters.FilterSet):
    workstation = django_filters.UUIDFilter(field_name="workstation__uuid")
    street = django_filters.CharFilter(field_name="street__code")
    overdue = django_filters.BooleanFilter(method="filter_overdue")
    mine = django_filters.BooleanFilter(method="filter_mine")

    class Meta:
        model = Case
        fields = ["state", "risk_level", "priority", "case_type", "origin", "workstation", "street"]

    def filter_overdue(self, queryset, name, value):
        return services.overdue_cases(queryset) if value else queryset

    def filter_mine(self, queryset, name, value):
        return queryset.filter(workers=self.request.user) if value else queryset


class CaseViewSet(
    AuditedListMixin, CaseScopedViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Cases in the caller's scope. ``create`` is ``open_case``; reading one is audited, and so is the page a
    list returns (``AuditedListMixin``: cases carry the children and the family's situation)."""

    scoped_model = Case
    filterset_class = CaseFilter

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("workstation", "street")
            .prefetch_related("persons", "workers")
        )

    def scope_action(self):
        if self.action in ("transition", "request_approval", "decide"):
            return access.CHANGE
        return super().scope_action()

    def get_serializer_class(self):
        return {
            "create": s.CaseOpenSerializer,
            "transition": s.TransitionRequestSerializer,
            "request_approval": s.CaseReasonSerializer,
            "decide": s.CaseDecisionSerializer,
        }.get(self.action, s.CaseSerializer)

    def retrieve(self, request, *args, **kwargs):
        case = self.get_object()
        record(request.user, AuditAction.VIEW, case)
        return Response(s.CaseSerializer(case, context=self.get_serializer_context()).data)

    @extend_schema(request=s.CaseOpenSerializer, responses=s.CaseSerializer)
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.open_case(request.user, **serializer.validated_data)
        return Response(s.CaseSerializer(case, context=self.get_serializer_context()).data, status=201)

    @extend_schema(request=s.TransitionRequestSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, uuid=None):
        case = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.transition(
            case,
            serializer.validated_data["to_state"],
            request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(s.CaseSerializer(case, context=self.get_serializer_context()).data)

    @extend_schema(request=s.CaseReasonSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"], url_path="request-approval")
    def request_approval(self, request, uuid=None):
        """Ask the workstation lead to close (or, when closed, reopen) the case."""
        case = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.request_approval(case, request.user, reason=serializer.validated_data["reason"])
        return Response(s.CaseSerializer(case, context=self.get_serializer_context()).data, status=201)

    @extend_schema(request=s.CaseDecisionSerializer, responses=s.CaseSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, uuid=None):
        """The lead of the case's workstation approves or rejects the pending request."""
        case = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = Approval.objects.filter(case=case, uuid=serializer.validated_data["approval"]).first()
        if approval is None:
            raise Http404
        services.decide_approval(
            approval,
            request.user,
            approve=serializer.validated_data["approve"],
            reason=serializer.validated_data["reason"],
        )
        case.refresh_from_db()
        return Response(s.CaseSerializer(case, context=self.get_serializer_context()).data)


class CaseRowViewSetMixin(AuditedListMixin, CaseScopedViewSetMixin):
    """The rows of a case that concern its children (assessments, notes, plan, interventions, referrals,
    transitions): reading them is audited like reading the case.

    ``retrieve`` records a ``view`` of the row. ``list`` filtered by ``?case=`` records one ``view`` of each
    case whose rows were returned; any other list records one ``search`` naming the rows returned.
    """

    # what the row's serializer reads besides the case: joined, not one query a row
    related: tuple[str, ...] = ()

    def get_queryset(self):
        return super().get_queryset().select_related("case", *self.related)

    def retrieve(self, request, *args, **kwargs):
        row = self.get_object()
        record(request.user, AuditAction.VIEW, row, extra={"case": str(row.case.uuid)})
        return Response(self.get_serializer(row).data)

    def audit_list(self, request, rows):
        """One case's rows (``?case=``): a view of that case; else the search the mixin records."""
        if not request.query_params.get("case"):
            return super().audit_list(request, rows)
        meta = self.scoped_model._meta
        for case in {row.case_id: row.case for row in rows}.values():
            record(
                request.user,
                AuditAction.VIEW,
                case,
                extra={"rows": f"{meta.app_label}.{meta.model_name}", "count": len(rows)},
            )


class CaseRowFilter(django_filters.FilterSet):
    case = django_filters.UUIDFilter(field_name="case__uuid")


def row_filter(row_model, extra=()):
    return type(
        f"{row_model.__name__}Filter",
        (CaseRowFilter,),
        {"Meta": type("Meta", (), {"model": row_model, "fields": ["case", *extra]})},
    )


class CaseTransitionViewSet(CaseRowViewSetMixin, viewsets.ReadOnlyModelViewSet):
    scoped_model = CaseTransition
    serializer_class = s.CaseTransitionSerializer
    lookup_field = "pk"
    filterset_class = row_filter(CaseTransition, ["to_state"])

    def get_queryset(self):
        return super().get_queryset().select_related("case", "actor")


class AssessmentViewSet(CaseRowViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scoped_model = Assessment
    serializer_class = s.AssessmentSerializer
    filterset_class = row_filter(Assessment)

    def get_queryset(self):
        return super().get_queryset().select_related("case", "person", "instrument", "assessed_by")

    def perform_create(self, serializer):
        d = serializer.validated_data
        serializer.instance = services.record_assessment(
            d["case"],
            self.request.user,
            person=d["person"],
            instrument=d["instrument"],
            answers=d["answers"],
            notes=d.get("notes", ""),
        )


class PlanItemViewSet(
    CaseRowViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Goals and actions. Creating goes through the service; an update changes the status only."""

    scoped_model = PlanItem
    related = ("goal", "responsible_user", "responsible_organisation")
    filterset_class = row_filter(PlanItem, ["kind", "status"])
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return s.PlanStatusSerializer if self.action == "partial_update" else s.PlanItemSerializer

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        case = d.pop("case")
        d.pop("status", None)
        serializer.instance = services.add_plan_item(case, self.request.user, **d)

    def partial_update(self, request, *args, **kwargs):
        # ``status`` is the only field: validate as a full update so that PATCH {} is a 400, not a KeyError
        return self.update(request, *args, **{**kwargs, "partial": False})

    def perform_update(self, serializer):
        serializer.instance = services.set_plan_status(
            serializer.instance, self.request.user, status=serializer.validated_data["status"]
        )


class InterventionViewSet(CaseRowViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scoped_model = Intervention
    related = ("person", "issuer")
    serializer_class = s.InterventionSerializer
    filterset_class = row_filter(Intervention, ["kind", "status"])

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        case = d.pop("case")
        serializer.instance = services.add_intervention(case, self.request.user, **d)


class ReferralViewSet(CaseRowViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Referrals sent by the caller's workstations or received by the caller's organisation."""

    scoped_model = Referral
    filterset_class = row_filter(Referral, ["status"])

    def scope_action(self):
        if self.action in ("respond", "report"):
            return access.VIEW  # the receiver answers: ``receiver_object`` refuses everyone else
        return super().scope_action()

    def receiver_object(self):
        """The referral, for its receiver only: anyone else who may see it gets a 403 before the input is
        read, as the page (``views._referral_for_receiver``) refuses before its form. The service checks
        again under the row lock."""
        referral = self.get_object()
        if not access.may_respond_to_referral(self.request.user, referral):
            raise PermissionDenied
        return referral

    def get_serializer_class(self):
        return {
            "respond": s.ReferralResponseSerializer,
            "report": s.ReferralReportSerializer,
            "withdraw": s.CaseReasonSerializer,
        }.get(self.action, s.ReferralSerializer)

    def get_queryset(self):
        return super().get_queryset().select_related("case", "to_organisation")

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        case = d.pop("case")
        serializer.instance = services.send_referral(case, self.request.user, **d)

    @extend_schema(request=s.ReferralResponseSerializer, responses=s.ReferralSerializer)
    @action(detail=True, methods=["post"])
    def respond(self, request, uuid=None):
        referral = self.receiver_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = services.respond_referral(referral, request.user, **serializer.validated_data)
        return Response(s.ReferralSerializer(referral, context=self.get_serializer_context()).data)

    @extend_schema(request=s.CaseReasonSerializer, responses=s.ReferralSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, uuid=None):
        """The workstation takes the referral back; the receiver no longer sees the case."""
        referral = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = services.withdraw_referral(
            referral, request.user, reason=serializer.validated_data["reason"]
        )
        return Response(s.ReferralSerializer(referral, context=self.get_serializer_context()).data)

    @extend_schema(request=s.ReferralReportSerializer, responses=s.ReferralSerializer)
    @action(detail=True, methods=["post"])
    def report(self, request, uuid=None):
        referral = self.receiver_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = services.report_referral(referral, request.user, **serializer.validated_data)
        return Response(s.ReferralSerializer(referral, context=self.get_serializer_context()).data)


class NoteViewSet(CaseRowViewSetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Visits, calls and notes (attachments are uploaded on the case page)."""

    scoped_model = Note
    related = ("author",)
    serializer_class = s.NoteSerializer
    filterset_class = row_filter(Note, ["kind"])

    def perform_create(self, serializer):
        d = dict(serializer.validated_data)
        case = d.pop("case")
        serializer.instance = services.add_note(case, self.request.user, **d)
