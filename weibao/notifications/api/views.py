import django_filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from weibao.lib.api import ScopedViewSetMixin

from .. import services
from ..models import Notification
from .serializers import MarkReadSerializer, NotificationSerializer


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = ["unread", "kind", "escalation"]


class NotificationViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The caller's own notifications."""

    scoped_model = Notification
    lookup_field = "pk"  # notifications are numbered; they have no uuid
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter

    @extend_schema(
        request=MarkReadSerializer,
        responses=inline_serializer("MarkRead", {"marked": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        data = MarkReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"marked": services.mark_read(request.user, data.validated_data.get("ids"))})
