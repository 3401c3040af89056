import django_filters
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.api import AuditedListMixin, ScopedViewSetMixin

from .. import services
from ..models import Guardianship, IdentityDocument, MatchCandidate, MergeRecord, Person
from ..search import masked_filters, name_query
from .serializers import (
    DecisionSerializer,
    DocumentCreateSerializer,
    DocumentSerializer,
    MatchCandidateSerializer,
    MergeRecordSerializer,
    MergeRequestSerializer,
    PersonDetailSerializer,
    PersonListSerializer,
    PersonSerializer,
    ReasonSerializer,
    RevealSerializer,
)


class PersonFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="姓名、拼音（全拼或首字母）或证件号码")
    street = django_filters.CharFilter(field_name="street__code")
    district = django_filters.CharFilter(field_name="street__parent__code")

    class Meta:
        model = Person
        fields = ["q", "kind", "sex", "birth_date", "street", "district", "sensitivity"]

    def search(self, queryset, name, value):
        return queryset.filter(name_query(value)) if value.strip() else queryset


class PersonViewSet(
    AuditedListMixin,
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Persons in the caller's scope. Reading one, or a page of the list, is audited; writes go through the
    registry services."""

    scoped_model = Person
    filterset_class = PersonFilter

    def get_queryset(self):
        qs = super().get_queryset().select_related("street", "street__parent")
        if self.action == "retrieve":
            guardians = Guardianship.objects.filter(guardian__in=Person.objects.visible_to(self.request.user))
            qs = qs.prefetch_related(
                "documents",
                Prefetch("guardianships", queryset=guardians.select_related("guardian")),
                "categories__category",
            )
        return qs

    def get_serializer_class(self):
        return {"list": PersonListSerializer, "retrieve": PersonDetailSerializer}.get(
            self.action, PersonSerializer
        )

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        record(request.user, AuditAction.VIEW, self.get_object())
        return response

    def audited_query(self, request) -> dict:
        """A document number typed into ``q`` is kept masked, as the web search keeps it
        (``search.masked_filters``): the trail must not become a look-up of who holds a number."""
        query = super().audited_query(request)
        if "q" in query:
            query["q"] = [masked_filters({"q": value})["q"] for value in query["q"]]
        return query

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

    @extend_schema(request=DocumentCreateSerializer, responses=DocumentSerializer)
    @action(detail=True, methods=["post"])
    def documents(self, request, uuid=None):
        """Attach an identity document (the number is validated, encrypted and indexed)."""
        person = self.get_object()
        data = DocumentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.add_document(
            person,
            data.validated_data["type"],
            data.validated_data["number"],
            actor=request.user,
            reason=data.validated_data.get("reason", ""),
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MergeRequestSerializer, responses=MergeRecordSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, uuid=None):
        """Absorb another person into this one (reversible through the merge record's ``split``)."""
        survivor = self.get_object()
        data = MergeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        other = get_object_or_404(
            Person.objects.visible_to(request.user, "change"), uuid=data.validated_data["other"]
        )
        merge = services.merge_persons(
            survivor, other, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(MergeRecordSerializer(merge).data, status=status.HTTP_201_CREATED)


class MergeRecordViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = MergeRecordSerializer
    lookup_field = "uuid"
    queryset = MergeRecord.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MergeRecord.objects.none()
        return MergeRecord.objects.filter(survivor__in=Person.objects.visible_to(self.request.user, "change"))

    @extend_schema(request=ReasonSerializer, responses=MergeRecordSerializer)
    @action(detail=True, methods=["post"])
    def split(self, request, uuid=None):
        merge = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.split_merge(merge, actor=request.user, reason=data.validated_data["reason"])
        merge.refresh_from_db()
        return Response(MergeRecordSerializer(merge).data)


class MatchCandidateViewSet(viewsets.ReadOnlyModelViewSet):
    """The review queue: pairs the model could not decide, for persons the caller may change."""

    serializer_class = MatchCandidateSerializer
    lookup_field = "uuid"
    queryset = MatchCandidate.objects.none()
    filterset_fields = ["status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MatchCandidate.objects.none()
        changeable = Person.objects.visible_to(self.request.user, "change")
        return MatchCandidate.objects.visible_to(self.request.user, "change").filter(other__in=changeable)

    @extend_schema(request=DecisionSerializer, responses=MatchCandidateSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, uuid=None):
        candidate = self.get_object()
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.decide_candidate(
            candidate,
            data.validated_data["decision"],
            actor=request.user,
            reason=data.validated_data.get("reason", ""),
        )
        return Response(MatchCandidateSerializer(candidate).data)


class DocumentViewSet(viewsets.GenericViewSet):
    queryset = IdentityDocument.objects.none()

    def get_queryset(self):
        return IdentityDocument.objects.visible_to(self.request.user)

    @extend_schema(
        request=RevealSerializer,
        responses=inline_serializer("RevealedNumber", {"number": serializers.CharField()}),
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """The whole number, for roles allowed to see it; every call is an audit event."""
        document = self.get_object()
        data = RevealSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        number = services.reveal_document(document, actor=request.user, reason=data.validated_data["reason"])
        return Response({"number": number})
