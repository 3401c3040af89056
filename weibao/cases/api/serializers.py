from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from weibao.accounts import access
from weibao.accounts.models import Organisation, User
from weibao.alerts.models import Alert
from weibao.lib.dates import DateTimeField
from weibao.registry.models import Person
from weibao.reports.models import Report

from ..choices import CaseType, Origin, Priority, RiskLevel, State
from ..models import Assessment, Case, CaseTransition, Instrument, Intervention, Note, PlanItem, Referral
from ..services import RESPONSIBLE_USER_ERROR


class CaseSerializer(serializers.ModelSerializer):
    """Department users (through a referral) get only what the referral needs: number, type, state, children."""

    workstation = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    street = serializers.SlugRelatedField(slug_field="code", read_only=True)
    persons = serializers.SlugRelatedField(slug_field="uuid", many=True, read_only=True)
    workers = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    report = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    alert = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    LIMITED = {"uuid", "number", "case_type", "state", "persons"}

    class Meta:
        model = Case
        fields = [
            "uuid",
            "number",
            "case_type",
            "risk_level",
            "priority",
            "origin",
            "origin_reference",
            "report",
            "alert",
            "state",
            "state_entered",
            "state_due",
            "opened_at",
            "closed_at",
            "workstation",
            "street",
            "persons",
            "workers",
            "family_notes",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        user = self.context["request"].user
        if not access.sees_whole_case(user, instance):
            data = {k: v for k, v in data.items() if k in self.LIMITED}
        return data


class CaseOpenSerializer(serializers.Serializer):
    persons = serializers.SlugRelatedField(slug_field="uuid", many=True, queryset=Person.objects.all())
    workstation = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Organisation.objects.filter(type__code="workstation")
    )
    case_type = serializers.ChoiceField(choices=CaseType.choices)
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    origin = serializers.ChoiceField(choices=Origin.choices)
    origin_reference = serializers.CharField(max_length=60, required=False, allow_blank=True)
    family_notes = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(max_length=500)
    report = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Report.objects.all(),
        required=False,
        allow_null=True,
        help_text="the mandatory report the case is opened from (origin and number are taken from it)",
    )
    alert = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Alert.objects.all(),
        required=False,
        allow_null=True,
        help_text="the early-warning alert the case is opened from (closes it when its visit is recorded)",
    )


class TransitionRequestSerializer(serializers.Serializer):
    to_state = serializers.ChoiceField(choices=State.choices)
    reason = serializers.CharField(max_length=500)


class CaseReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class CaseDecisionSerializer(serializers.Serializer):
    approval = serializers.UUIDField()
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=500)


class CaseTransitionSerializer(serializers.ModelSerializer):
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CaseTransition
        fields = ["id", "case", "from_state", "to_state", "actor", "at", "reason"]
        read_only_fields = fields


class CaseRowSerializer(serializers.ModelSerializer):
    """Base for rows of a case: ``case`` by uuid, created through the app's service."""

    case = serializers.SlugRelatedField(slug_field="uuid", queryset=Case.objects.all())


class AssessmentSerializer(CaseRowSerializer):
    person = serializers.SlugRelatedField(slug_field="uuid", queryset=Person.objects.all())
    instrument = serializers.PrimaryKeyRelatedField(queryset=Instrument.objects.filter(is_active=True))
    instrument_code = serializers.CharField(source="instrument.code", read_only=True)
    assessed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    answers = serializers.DictField(child=serializers.IntegerField(), help_text="item code → option index")

    class Meta:
        model = Assessment
        fields = [
            "uuid",
            "case",
            "person",
            "instrument",
            "instrument_code",
            "answers",
            "total",
            "domain_scores",
            "level",
            "level_code",
            "notes",
            "assessed_by",
            "assessed_at",
        ]
        read_only_fields = [
            "uuid",
            "total",
            "domain_scores",
            "level",
            "level_code",
            "assessed_by",
            "assessed_at",
        ]


class PlanItemSerializer(CaseRowSerializer):
    goal = serializers.SlugRelatedField(
        slug_field="uuid", queryset=PlanItem.objects.all(), required=False, allow_null=True
    )
    responsible_user = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        # the same answer as for someone else's staff (the service's check): no probing for usernames
        error_messages={"does_not_exist": RESPONSIBLE_USER_ERROR},
    )
    responsible_organisation = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Organisation.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = PlanItem
        fields = [
            "uuid",
            "case",
            "kind",
            "goal",
            "title",
            "responsible_user",
            "responsible_organisation",
            "due",
            "status",
        ]
        read_only_fields = ["uuid"]


class PlanStatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanItem
        fields = ["status"]
        extra_kwargs = {"status": {"required": True}}  # the only field: PATCH {} is a 400, not a KeyError


class InterventionSerializer(CaseRowSerializer):
    person = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Person.objects.all(), required=False, allow_null=True
    )
    issuer = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Organisation.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Intervention
        fields = [
            "uuid",
            "case",
            "person",
            "kind",
            "started_on",
            "description",
            "status",
            "outcome",
            "issuer",
            "issued_on",
            "terms",
        ]
        read_only_fields = ["uuid"]


class ReferralSerializer(CaseRowSerializer):
    to_organisation = serializers.SlugRelatedField(slug_field="uuid", queryset=Organisation.objects.all())
    due = DateTimeField(label=_("答复期限"), required=False)

    class Meta:
        model = Referral
        fields = [
            "uuid",
            "case",
            "to_organisation",
            "reason",
            "status",
            "sent_at",
            "due",
            "responded_at",
            "response_reason",
            "report_due",
            "report",
            "reported_at",
        ]
        read_only_fields = [
            "uuid",
            "status",
            "sent_at",
            "responded_at",
            "response_reason",
            "report_due",
            "report",
            "reported_at",
        ]


class ReferralResponseSerializer(serializers.Serializer):
    accept = serializers.BooleanField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReferralReportSerializer(serializers.Serializer):
    report = serializers.CharField()


class NoteSerializer(CaseRowSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    occurred_at = DateTimeField(label=_("时间"), required=False)

    class Meta:
        model = Note
        fields = ["uuid", "case", "kind", "occurred_at", "place", "text", "author"]
        read_only_fields = ["uuid", "author"]
