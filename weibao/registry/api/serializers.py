from rest_framework import serializers

from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Area

from ..models import Person


class PersonSerializer(serializers.ModelSerializer):
    street = serializers.SlugRelatedField(
        slug_field="code", queryset=Area.objects.filter(level=AreaLevel.STREET)
    )
    district = serializers.CharField(source="street.parent.code", read_only=True)
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500)

    class Meta:
        model = Person
        fields = [
            "uuid",
            "name",
            "sex",
            "birth_date",
            "street",
            "district",
            "sensitivity",
            "created",
            "updated",
            "reason",
        ]
        read_only_fields = ["uuid", "created", "updated"]


class PersonListSerializer(PersonSerializer):
    """Lists show names masked (DESIGN.md §5); the detail shows them whole and is audited."""

    name = serializers.SerializerMethodField()

    def get_name(self, obj) -> str:
        from weibao.lib.masking import mask_name

        return mask_name(obj.name)
