"""Feeds over REST: send a batch (idempotent), read batch reports, list and fix records needing fixing."""

import uuid

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from weibao.accounts import access
from weibao.accounts.access import SEND
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.api import ScopedViewSetMixin

from .. import services
from ..choices import LandingStatus
from ..models import Batch, EventType, Feed, LandingRecord
from ..pipeline import BatchBusy
from .serializers import (
    BatchCreateSerializer,
    BatchSerializer,
    DiscardSerializer,
    EventTypeSerializer,
    FeedSerializer,
    FixSerializer,
    LandingRecordSerializer,
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class Busy(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "该批次正在处理中，请稍后重试 (batch is being processed; retry later)"


class EventTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """The event catalogue (not person data: open to every signed-in user)."""

    serializer_class = EventTypeSerializer
    queryset = EventType.objects.filter(is_active=True)
    lookup_field = "code"


class FeedViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    scoped_model = Feed
    serializer_class = FeedSerializer
    lookup_field = "code"

    def get_queryset(self):
        return super().get_queryset().select_related("owner", "event_type")


class FeedBatchView(APIView):
    """``POST /api/feeds/<code>/batches/``: up to 10,000 records with an idempotency key.

    201 with the batch report when new; 200 with the original report when the key was seen before.
    ``GET`` lists the feed's batches.
    """

    def _feed(self, code, action):
        feed = (
            Feed.objects.visible_to(self.request.user, action)
            .filter(code=code)
            .select_related("owner", "event_type")
            .first()
        )
        if feed is None:
            raise Http404
        return feed

    @extend_schema(operation_id="feeds_feed_batches_list", responses=BatchSerializer(many=True))
    def get(self, request, code):
        feed = self._feed(code, "view")
        batches = Batch.objects.visible_to(request.user).filter(feed=feed).select_related("feed")[:100]
        return Response(BatchSerializer(batches, many=True).data)

    @extend_schema(
        operation_id="feeds_feed_batches_create", request=BatchCreateSerializer, responses=BatchSerializer
    )
    def post(self, request, code):
        feed = self._feed(code, SEND)
        payload = BatchCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if not feed.is_active:
            raise Http404
        try:
            batch, created = services.ingest_records(
                feed,
                payload.validated_data["idempotency_key"],
                payload.validated_data["records"],
                actor=request.user,
            )
        except BatchBusy:
            raise Busy() from None
        except services.TooManyRecords as exc:
            raise PayloadTooLarge(exc.message_dict["records"][0]) from None
        batch.refresh_from_db()
        return Response(
            BatchSerializer(batch).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class BatchViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    scoped_model = Batch
    serializer_class = BatchSerializer

    def get_queryset(self):
        return super().get_queryset().select_related("feed")


class LandingRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Records that need fixing (the feed's senders and the city office), with fix and discard actions; the
    ones fixed or discarded stay readable. Accepted rows are not served here: their normalised form is the
    source record. Identifiers are shown as sent, or masked (``access.may_read_landing_in_clear``)."""

    serializer_class = LandingRecordSerializer
    queryset = LandingRecord.objects.none()
    STATUSES = (LandingStatus.REJECTED, LandingStatus.FIXED, LandingStatus.DISCARDED)

    def get_queryset(self):
        qs = LandingRecord.objects.visible_to(self.request.user, SEND).select_related(
            "batch__feed__event_type"
        )
        qs = qs.filter(status__in=self.STATUSES)
        if self.action == "list":
            wanted = self.request.query_params.get("status", LandingStatus.REJECTED)
            if wanted not in self.STATUSES:
                raise ValidationError(
                    {"status": [f"状态只能是 {'、'.join(self.STATUSES)} 之一 (status must be one of these)"]}
                )
            qs = qs.filter(status=wanted)
            if feed := self.request.query_params.get("feed"):
                qs = qs.filter(batch__feed__code=feed)
            if batch := self.request.query_params.get("batch"):
                try:
                    qs = qs.filter(batch__uuid=uuid.UUID(batch))
                except ValueError:
                    raise ValidationError({"batch": ["批次编号格式不正确 (not a batch id)"]}) from None
        return qs.order_by("batch_id", "row_number")

    def get_serializer_context(self):
        clear: dict[int, bool] = {}  # feed → identifiers whole?

        def in_clear(feed) -> bool:
            if feed.pk not in clear:
                clear[feed.pk] = access.may_read_landing_in_clear(self.request.user, feed)
            return clear[feed.pk]

        return {**super().get_serializer_context(), "in_clear": in_clear}

    def list(self, request, *args, **kwargs):
        """Every read is an audit event: ``view_full_id`` for the rows shown whole, ``view`` for the rest."""
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", [])
        whole = [row["id"] for row in rows if not row["masked"]]
        masked = [row["id"] for row in rows if row["masked"]]
        for audit_action, ids in ((AuditAction.VIEW_FULL_ID, whole), (AuditAction.VIEW, masked)):
            if ids or (audit_action == AuditAction.VIEW and not whole):
                record(
                    request.user,
                    audit_action,
                    object_type="feeds.landingrecord",
                    object_repr="landing records (API list)",
                    extra={"ids": ids},
                )
        return response

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.get_serializer(instance).data
        record(request.user, AuditAction.VIEW if data["masked"] else AuditAction.VIEW_FULL_ID, instance)
        return Response(data)

    @extend_schema(request=FixSerializer, responses=LandingRecordSerializer)
    @action(detail=True, methods=["post"])
    def fix(self, request, pk=None):
        """Correct fields (canonical names) and resubmit; 400 with the remaining field errors."""
        landing = self.get_object()
        data = FixSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        errors = services.fix_record(
            landing,
            data.validated_data["fields"],
            actor=request.user,
            reason=data.validated_data.get("reason", ""),
        )
        if errors:
            return Response(
                {"detail": "输入有误 (invalid input)", "errors": errors}, status=status.HTTP_400_BAD_REQUEST
            )
        landing.refresh_from_db()
        return Response(self.get_serializer(landing).data)

    @extend_schema(request=DiscardSerializer, responses=LandingRecordSerializer)
    @action(detail=True, methods=["post"])
    def discard(self, request, pk=None):
        landing = self.get_object()
        data = DiscardSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        landing = services.discard_record(landing, actor=request.user, reason=data.validated_data["reason"])
        return Response(self.get_serializer(landing).data)
