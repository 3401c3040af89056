from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from weibao.lib.api import ScopedViewSetMixin

from .. import services
from ..models import ApiToken, Area, Organisation, OrganisationType, User
from .serializers import (
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    AreaSerializer,
    OrganisationSerializer,
    OrganisationTypeSerializer,
    UserSerializer,
)


class AreaViewSet(viewsets.ReadOnlyModelViewSet):
    """Shanghai, its districts and its streets and towns (reference data, readable by every user)."""

    queryset = Area.objects.select_related("parent")
    serializer_class = AreaSerializer
    lookup_field = "code"
    filterset_fields = ["level", "kind", "parent__code"]


class OrganisationTypeViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = OrganisationType.objects.all()
    serializer_class = OrganisationTypeSerializer
    lookup_field = "code"
    pagination_class = None


class OrganisationViewSet(
    ScopedViewSetMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """The organisation directory; system administrators create and edit within their area."""

    scoped_model = Organisation
    serializer_class = OrganisationSerializer
    filterset_fields = ["type__code", "area__code", "is_active"]

    def get_queryset(self):
        return super().get_queryset().select_related("type", "area", "parent")

    def perform_create(self, serializer):
        serializer.instance = services.save_organisation(
            Organisation(**serializer.validated_data), actor=self.request.user
        )

    def perform_update(self, serializer):
        instance = serializer.instance
        for key, value in serializer.validated_data.items():
            setattr(instance, key, value)
        services.save_organisation(instance, actor=self.request.user)


class UserViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Accounts visible to system and security administrators (every user sees their own)."""

    scoped_model = User
    serializer_class = UserSerializer

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .prefetch_related("role_assignments__organisation", "role_assignments__area")
            .order_by("username")
        )

    @action(detail=False, methods=["get"])
    def me(self, request):
        return Response(UserSerializer(request.user).data)


class ApiTokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own API tokens: list, create (the key is shown once), revoke."""

    serializer_class = ApiTokenSerializer
    lookup_field = "uuid"

    queryset = ApiToken.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses=inline_serializer(
            "NewToken", {"token": ApiTokenSerializer(), "key": serializers.CharField()}
        ),
    )
    def create(self, request):
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = services.create_token(actor=request.user, **data.validated_data)
        return Response({"token": ApiTokenSerializer(token).data, "key": key}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ApiTokenSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, uuid=None):
        token = self.get_object()
        services.revoke_token(token, actor=request.user)
        return Response(ApiTokenSerializer(token).data)
