from django.core.exceptions import ValidationError
from rest_framework import serializers

from .. import conditions
from ..choices import AlertState, Outcome, Recipient
from ..models import Alert, AlertLevel, Rule, RuleVersion


class RuleVersionSerializer(serializers.ModelSerializer):
    level = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.StringRelatedField()

    class Meta:
        model = RuleVersion
        fields = [
            "number", "name", "description", "definition", "level", "recipient", "deadline_hours",
            "created_by", "created_at",
        ]  # fmt: skip


class RuleSerializer(serializers.ModelSerializer):
    current = RuleVersionSerializer(read_only=True)

    class Meta:
        model = Rule
        fields = ["uuid", "code", "status", "current", "created", "updated"]


def _bounded_definition(value):
    """At most ``conditions.MAX_TEXT`` characters as JSON (the clause count is checked by the service)."""
    try:
        conditions.check_text_length(value)
    except ValidationError as exc:
        raise serializers.ValidationError(exc.message_dict["definition"]) from exc
    return value


class RuleWriteSerializer(serializers.Serializer):
    """A new rule (``code`` required) or a new version of one. Conditions are checked by the service."""

    code = serializers.SlugField(max_length=60, required=False)
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    definition = serializers.JSONField(validators=[_bounded_definition])
    level = serializers.SlugRelatedField(slug_field="code", queryset=AlertLevel.objects.all())
    recipient = serializers.ChoiceField(choices=Recipient.choices, default=Recipient.WORKSTATION)
    deadline_hours = serializers.IntegerField(min_value=1, max_value=2160)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DefinitionSerializer(serializers.Serializer):
    definition = serializers.JSONField(required=False, validators=[_bounded_definition])


class DryRunSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = serializers.ListField(child=serializers.CharField(), help_text="脱敏姓名 (masked names)")


class RuleReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.SlugRelatedField(slug_field="code", read_only=True)
    rule_version = serializers.IntegerField(source="rule_version.number", read_only=True)
    rule_name = serializers.CharField(source="rule_version.name", read_only=True)
    level = serializers.CharField(source="rule_version.level.code", read_only=True)
    person = serializers.UUIDField(source="person.uuid", read_only=True)
    evidence = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "uuid", "rule", "rule_version", "rule_name", "level", "person", "state", "outcome", "visit_result",
            "fired_at", "last_fired_at", "deadline", "escalated_at", "closed_at", "evidence",
        ]  # fmt: skip

    def get_evidence(self, alert) -> list[str]:
        """The evidence events the user may see (the same rule as the alert page); prefetched for a list
        (``Alert.prefetch_visible_evidence``)."""
        rows = getattr(alert, "visible_evidence_rows", None)
        if rows is not None:
            return [str(row.event.uuid) for row in rows]
        events = alert.visible_evidence(self.context["request"].user)
        return [str(u) for u in events.order_by("occurred_on", "pk").values_list("uuid", flat=True)]


class TransitionSerializer(serializers.Serializer):
    to_state = serializers.ChoiceField(choices=AlertState.choices)
    reason = serializers.CharField(max_length=500)
    visit_result = serializers.CharField(required=False, allow_blank=True, default="")
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False, allow_blank=True, default="")
