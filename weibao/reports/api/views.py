from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.api import AuditedListMixin, ScopedViewSetMixin

from .. import intake, services
from ..choices import Channel
from ..models import Report
from .authentication import IsPartner, PartnerTokenAuthentication
from .serializers import PartnerReceiptSerializer, PartnerReportSerializer, ReportSerializer


class ReportViewSet(
    AuditedListMixin,
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Reports in the caller's scope (read only; steps are recorded on the pages). Reading one is audited, and
    so is the page a list returns (``AuditedListMixin``): reports name the minor."""

    scoped_model = Report
    serializer_class = ReportSerializer
    queryset = Report.objects.none()

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related(
                "district", "police", "workstation", "minor_street", "occurred_street", "reporter_org"
            )
        )

    def retrieve(self, request, *args, **kwargs):
        report = self.get_object()
        record(request.user, AuditAction.VIEW, report, extra={"api": True})
        return Response(self.get_serializer(report).data)


class PartnerMixin:
    authentication_classes = [PartnerTokenAuthentication]
    permission_classes = [IsPartner]


def _external_id(raw) -> str:
    try:
        return PartnerReportSerializer().fields["external_id"].run_validation(raw)
    except ValidationError:
        return ""


class PartnerReportCreate(PartnerMixin, APIView):
    @extend_schema(
        request=PartnerReportSerializer,
        responses={
            201: PartnerReceiptSerializer,
            200: OpenApiResponse(
                PartnerReceiptSerializer, description="Resend: the report made the first time"
            ),
            400: OpenApiResponse(description="Invalid payload: {detail, errors: {field: [reason]}}"),
            401: OpenApiResponse(description="Missing or bad partner token"),
            429: OpenApiResponse(description="Rate limit of the channel reached"),
        },
        summary="Submit a report from a partner channel",
        operation_id="partner_report_create",
    )
    def post(self, request):
        partner = request.auth
        size = len(request.body or b"")
        raw = request.data.get("external_id", "") if isinstance(request.data, dict) else ""
        external_id = _external_id(raw)  # as the serializer keeps it (trimmed); "" when it is not valid
        existing = (
            Report.objects.filter(partner=partner, external_id=external_id).first() if external_id else None
        )
        if existing is not None:  # a resend: the same report, nothing new (the submission is still kept)
            return self._resend(partner, existing, size)
        try:
            intake.check_rate(channel=Channel.PARTNER, partner=partner)
            serializer = PartnerReportSerializer(data=request.data)
            if not serializer.is_valid():
                raise intake.Refused("invalid", "输入有误 (invalid input)", errors=serializer.errors)
            external_id = serializer.validated_data["external_id"]
            intake.check_text(serializer.validated_data["description"])
            try:
                with transaction.atomic():
                    report = services.create_report(serializer.to_report(partner), actor=None)
            except (IntegrityError, DjangoValidationError) as exc:  # the same external id raced in: the first
                existing = Report.objects.filter(partner=partner, external_id=external_id).first()
                if existing is not None:
                    return self._resend(partner, existing, size)
                if isinstance(exc, DjangoValidationError):
                    raise  # refused below with its field errors
                # another constraint: refused and kept like any refusal, never a 500 that keeps nothing
                raise intake.Refused(
                    "invalid", "报告无法保存，请检查后重发 (the report could not be stored)", status=409
                ) from exc
        except (intake.Refused, DjangoValidationError) as exc:
            refused = exc if isinstance(exc, intake.Refused) else intake.refuse_invalid(exc)
            intake.keep(
                channel=Channel.PARTNER, accepted=False, partner=partner, refusal=refused.refusal,
                detail=f"{external_id or str(raw)[:64]} {refused.message}", size=size,
            )  # fmt: skip
            if refused.status != 400:  # rate limited (429), or a report that could not be stored (409)
                return Response({"detail": refused.message, "errors": {}}, status=refused.status)
            raise ValidationError(refused.errors or {"description": [refused.message]}) from None
        intake.keep(channel=Channel.PARTNER, accepted=True, partner=partner, report=report, size=size)
        return Response(PartnerReceiptSerializer(report).data, status=status.HTTP_201_CREATED)

    @staticmethod
    def _resend(partner, report, size):
        intake.keep(
            channel=Channel.PARTNER, accepted=True, partner=partner, report=report,
            detail=f"resend {report.external_id}", size=size,
        )  # fmt: skip
        return Response(PartnerReceiptSerializer(report).data, status=status.HTTP_200_OK)


class PartnerReportStatus(PartnerMixin, APIView):
    @extend_schema(
        responses={
            200: PartnerReceiptSerializer,
            404: OpenApiResponse(description="Not this channel's report"),
        },
        summary="Status and feedback of a report this channel sent",
        operation_id="partner_report_status",
    )
    def get(self, request, external_id):
        report = Report.objects.filter(partner=request.auth, external_id=external_id).first()
        if report is None:
            return Response({"detail": "未找到 (not found)", "errors": {}}, status=404)
        return Response(PartnerReceiptSerializer(report).data)
