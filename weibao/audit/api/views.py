import django_filters
from rest_framework import viewsets

from ..models import AuditEvent
from .serializers import AuditEventSerializer


class AuditEventFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lte")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "actor_username", "ip"]


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, read-only, for audit administrators."""

    serializer_class = AuditEventSerializer
    lookup_field = "seq"
    filterset_class = AuditEventFilter

    def get_queryset(self):
        return AuditEvent.objects.visible_to(self.request.user)
