import django_filters
from rest_framework import exceptions, viewsets

from weibao.accounts import access

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

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not access.can_read_audit(request.user):
            raise exceptions.PermissionDenied("只有审计管理员可以查看审计日志 (audit administrators only)")

    def get_queryset(self):
        return AuditEvent.objects.visible_to(self.request.user)
