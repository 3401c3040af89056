from rest_framework import serializers

from ..models import ApiToken, Area, Organisation, OrganisationType, RoleAssignment, User


class AreaSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Area
        fields = ["code", "name", "level", "kind", "parent"]


class OrganisationTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrganisationType
        fields = ["code", "name", "name_en", "is_mandated_reporter", "is_member_unit"]


class OrganisationSerializer(serializers.ModelSerializer):
    type = serializers.SlugRelatedField(slug_field="code", queryset=OrganisationType.objects.all())
    area = serializers.SlugRelatedField(slug_field="code", queryset=Area.objects.all())
    parent = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Organisation.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Organisation
        fields = ["uuid", *Organisation.EDITABLE_FIELDS]
        read_only_fields = ["uuid"]
        validators = []  # uniqueness is checked by the model's full_clean in the service


class RoleAssignmentSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    area = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RoleAssignment
        fields = [
            "id",
            "role",
            "organisation",
            "area",
            "may_read_sensitive",
            "may_see_full_id",
            "valid_from",
            "valid_until",
        ]


class UserSerializer(serializers.ModelSerializer):
    role_assignments = RoleAssignmentSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ["uuid", "username", "full_name", "email", "is_active", "last_login", "role_assignments"]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["uuid", "name", "key_prefix", "created", "expires", "revoked_at", "last_used"]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    days = serializers.IntegerField(min_value=1, required=False)
