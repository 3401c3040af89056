import django_filters
from rest_framework import mixins, viewsets

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.api import ScopedViewSetMixin

from .. import services
from ..models import Person
from .serializers import PersonListSerializer, PersonSerializer


class PersonFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="contains")
    street = django_filters.CharFilter(field_name="street__code")
    district = django_filters.CharFilter(field_name="street__parent__code")

    class Meta:
        model = Person
        fields = ["name", "sex", "birth_date", "street", "district", "sensitivity"]


class PersonViewSet(
    ScopedViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Persons in the caller's scope. Reading one is audited; writes go through ``save_person``."""

    scoped_model = Person
    filterset_class = PersonFilter

    def get_queryset(self):
        return super().get_queryset().select_related("street", "street__parent")

    def get_serializer_class(self):
        return PersonListSerializer if self.action == "list" else PersonSerializer

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        record(request.user, AuditAction.VIEW, self.get_object())
        return response

    def perform_create(self, serializer):
        reason = serializer.validated_data.pop("reason", "")
        serializer.instance = services.save_person(
            Person(**serializer.validated_data), actor=self.request.user, reason=reason
        )

    def perform_update(self, serializer):
        reason = serializer.validated_data.pop("reason", "")
        instance = serializer.instance
        for key, value in serializer.validated_data.items():
            setattr(instance, key, value)
        services.save_person(instance, actor=self.request.user, reason=reason)
