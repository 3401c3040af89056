from rest_framework import serializers

from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Area
from weibao.lib.masking import mask_name, mask_phone

from ..choices import DocumentType
from ..models import Guardianship, IdentityDocument, MatchCandidate, MergeRecord, Person, PersonCategory


class DocumentSerializer(serializers.ModelSerializer):
    """Numbers are masked here; the whole number only through the audited ``reveal`` action."""

    class Meta:
        model = IdentityDocument
        fields = ["id", "type", "number_masked", "is_valid", "created"]
        read_only_fields = fields


class DocumentCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=DocumentType.choices)
    number = serializers.CharField(max_length=40)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class GuardianshipSerializer(serializers.ModelSerializer):
    guardian = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    guardian_name = serializers.CharField(source="guardian.name", read_only=True)

    class Meta:
        model = Guardianship
        fields = ["guardian", "guardian_name", "relation", "since", "until"]


class PersonCategorySerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = PersonCategory
        fields = ["category", "since", "until"]


class PersonSerializer(serializers.ModelSerializer):
    street = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Area.objects.filter(level=AreaLevel.STREET),
        required=False,
        allow_null=True,
    )
    district = serializers.CharField(source="street.parent.code", read_only=True, default=None)
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500)

    class Meta:
        model = Person
        fields = [
            "uuid",
            "kind",
            "name",
            "name_pinyin",
            "sex",
            "birth_date",
            "street",
            "district",
            "address",
            "phone",
            "sensitivity",
            "created",
            "updated",
            "reason",
        ]
        read_only_fields = ["uuid", "name_pinyin", "created", "updated"]


class PersonDetailSerializer(PersonSerializer):
    documents = DocumentSerializer(many=True, read_only=True)
    guardianships = GuardianshipSerializer(many=True, read_only=True)
    categories = PersonCategorySerializer(many=True, read_only=True)

    class Meta(PersonSerializer.Meta):
        fields = [*PersonSerializer.Meta.fields, "documents", "guardianships", "categories"]


class PersonListSerializer(PersonSerializer):
    """Lists show names masked (DESIGN.md §5); the detail shows them whole and is audited."""

    name = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    class Meta(PersonSerializer.Meta):
        fields = [f for f in PersonSerializer.Meta.fields if f != "address"]  # the page's list shows none

    def get_name(self, obj) -> str:
        return mask_name(obj.name)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)


class MatchCandidateSerializer(serializers.ModelSerializer):
    person = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    other = serializers.SlugRelatedField(slug_field="uuid", read_only=True)

    class Meta:
        model = MatchCandidate
        fields = [
            "uuid",
            "person",
            "other",
            "match_probability",
            "match_weights",
            "model_version",
            "status",
            "decided_at",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["same", "different", "skipped"])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class MergeRequestSerializer(serializers.Serializer):
    other = serializers.UUIDField(help_text="the person absorbed into this one")
    reason = serializers.CharField(max_length=500)


class MergeRecordSerializer(serializers.ModelSerializer):
    survivor = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    absorbed = serializers.SlugRelatedField(slug_field="uuid", read_only=True)

    class Meta:
        model = MergeRecord
        fields = ["uuid", "survivor", "absorbed", "reason", "merged_at", "split_at", "split_reason"]
        read_only_fields = fields


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class RevealSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
