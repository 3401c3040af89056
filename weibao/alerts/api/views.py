"""Rules (city office: CRUD, dry run, activate, retire) and alerts (scoped list, retrieve, transition)."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from weibao.accounts import access
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.api import AuditedListMixin, ScopedViewSetMixin
from weibao.lib.masking import mask_name

from .. import services
from ..choices import AlertState, RuleStatus
from ..models import Alert, Rule
from .serializers import (
    AlertSerializer,
    DefinitionSerializer,
    DryRunSerializer,
    RuleReasonSerializer,
    RuleSerializer,
    RuleWriteSerializer,
    TransitionSerializer,
)


class RuleViewSet(
    ScopedViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Rules are data. Every write makes a new immutable version (``PUT``/``PATCH`` = new version)."""

    scoped_model = Rule
    serializer_class = RuleSerializer
    http_method_names = ["get", "post", "put", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().select_related("current__level", "current__created_by")

    def _require_manager(self):
        if not access.can_manage_rules(self.request.user):
            raise PermissionDenied

    @extend_schema(request=RuleWriteSerializer, responses={201: RuleSerializer})
    def create(self, request, *args, **kwargs):
        self._require_manager()
        data = RuleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        rule = services.save_rule(
            actor=request.user, data=values, code=values.get("code", ""), reason=values.get("reason", "")
        )
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RuleWriteSerializer, responses=RuleSerializer)
    def update(self, request, *args, **kwargs):
        rule = self.get_object()
        data = RuleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        rule = services.save_rule(actor=request.user, data=values, rule=rule, reason=values.get("reason", ""))
        return Response(RuleSerializer(rule).data)

    @extend_schema(request=DefinitionSerializer, responses=DryRunSerializer)
    @action(detail=True, methods=["post"], url_path="dry-run")
    def dry_run(self, request, uuid=None):
        """How many persons the rule (or the ``definition`` sent) would flag today, with a masked sample."""
        rule = self.get_object()
        body = DefinitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        definition = body.validated_data.get("definition") or rule.current.definition
        count, sample = services.dry_run_sample(request.user, definition, limit=10)
        return Response({"count": count, "sample": [mask_name(p.name) for p in sample]})

    @extend_schema(request=RuleReasonSerializer, responses=RuleSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, uuid=None):
        return self._status(RuleStatus.ACTIVE)

    @extend_schema(request=RuleReasonSerializer, responses=RuleSerializer)
    @action(detail=True, methods=["post"])
    def retire(self, request, uuid=None):
        return self._status(RuleStatus.RETIRED)

    def _status(self, status_):
        rule = self.get_object()
        body = RuleReasonSerializer(data=self.request.data)
        body.is_valid(raise_exception=True)
        services.set_status(rule, status_, actor=self.request.user, reason=body.validated_data["reason"])
        return Response(RuleSerializer(rule).data)

    def scope_action(self):
        if self.action == "dry_run":
            return access.CHANGE
        return super().scope_action()


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("state", str, enum=AlertState.values, description="只列出该状态的预警")]
    )
)
class AlertViewSet(AuditedListMixin, ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Alerts in the user's area. They carry the child and the visit result: retrieving one is audited
    (person-level), and so is the page a list returns (``AuditedListMixin``)."""

    scoped_model = Alert
    serializer_class = AlertSerializer

    def get_queryset(self):
        qs = (
            super()
            .get_queryset()
            .select_related("rule", "rule_version__level", "person")
            .prefetch_related(Alert.prefetch_visible_evidence(self.request.user))
        )
        if self.action == "list" and (state := self.request.query_params.get("state")):
            if state not in AlertState.values:
                raise ValidationError(
                    {
                        "state": [
                            f"状态只能是 {'、'.join(AlertState.values)} 之一 (state must be one of these)"
                        ]
                    }
                )
            qs = qs.filter(state=state)
        return qs

    def retrieve(self, request, *args, **kwargs):
        alert = self.get_object()
        record(request.user, AuditAction.VIEW, alert)
        return Response(self.get_serializer(alert).data)

    @extend_schema(request=TransitionSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, uuid=None):
        alert = self.get_object()
        body = TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.transition(alert, actor=request.user, **body.validated_data)
        return Response(self.get_serializer(alert).data)
