from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from weibao.accounts import access
from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Area
from weibao.lib.checksums import id_birth_date, validate_id_number
from weibao.lib.dates import DateTimeField
from weibao.registry.choices import Sex

from ..checks import check_minor_birth_date, check_occurred_at
from ..choices import Relation, Situation
from ..models import Report

STREETS = Area.objects.filter(level=AreaLevel.STREET)


class PartnerReportSerializer(serializers.Serializer):
    """What a partner channel sends. ``external_id`` is the channel's own number: a resend returns the same report."""

    external_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]{1,64}$", help_text="The channel's own id of the report"
    )
    situation = serializers.ChoiceField(choices=Situation.choices)
    description = serializers.CharField(max_length=5000)
    occurred_at = DateTimeField(label=_("发现时间"), required=False, allow_null=True)
    occurred_street = serializers.SlugRelatedField(
        slug_field="code", queryset=STREETS, required=False, allow_null=True, help_text="9-digit street code"
    )
    occurred_place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    minor_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    minor_sex = serializers.ChoiceField(choices=Sex.choices, required=False, default=Sex.UNKNOWN)
    minor_birth_date = serializers.DateField(required=False, allow_null=True)
    minor_age = serializers.IntegerField(min_value=0, max_value=17, required=False, allow_null=True)
    minor_id_number = serializers.CharField(max_length=30, required=False, allow_blank=True)
    minor_street = serializers.SlugRelatedField(
        slug_field="code", queryset=STREETS, required=False, allow_null=True, help_text="9-digit street code"
    )
    minor_school = serializers.CharField(max_length=100, required=False, allow_blank=True)
    suspect_relation = serializers.ChoiceField(
        choices=Relation.choices, required=False, default=Relation.UNKNOWN
    )
    immediate_danger = serializers.BooleanField(required=False, default=False)
    reporter_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    reporter_contact = serializers.CharField(max_length=50, required=False, allow_blank=True)

    def validate_minor_id_number(self, value):
        if not value.strip():
            return ""
        try:
            return validate_id_number(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_occurred_at(self, value):
        check_occurred_at(value)
        return value

    def validate_minor_birth_date(self, value):
        check_minor_birth_date(value)
        return value

    def validate(self, data):
        errors = {}
        number, born = data.get("minor_id_number"), data.get("minor_birth_date")
        if number and born and id_birth_date(number) != born:
            errors["minor_id_number"] = [
                _("身份证号码中的出生日期与出生日期不一致 (does not match the birth date)")
            ]
        if number and not born:
            data["minor_birth_date"] = id_birth_date(number)
        if not data.get("minor_street") and not data.get("occurred_street"):
            errors["minor_street"] = [_("居住地或发生地街镇至少填一项 (a street code is needed for routing)")]
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def to_report(self, partner) -> Report:
        from ..services import set_minor_id

        d = dict(self.validated_data)
        number = d.pop("minor_id_number", "")
        report = Report(channel="partner", partner=partner, **d)
        if number:
            set_minor_id(report, number)
        return report


class PartnerReceiptSerializer(serializers.ModelSerializer):
    """What the partner gets back: the number, the status and the feedback it may pass on. A merged report
    says so by its status, not by the other report's number (another source's report)."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Report
        fields = [
            "uuid",
            "number",
            "external_id",
            "status",
            "status_label",
            "created",
            "feedback",
        ]


class ReportSerializer(serializers.ModelSerializer):
    """Staff API: the reporting organisation gets the status and the feedback only; the reporter's identity
    only for those who need it (see ``access.may_see_reporter_identity``)."""

    situation_label = serializers.CharField(source="get_situation_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    district = serializers.SlugRelatedField(slug_field="code", read_only=True)
    police = serializers.SlugRelatedField(slug_field="name", read_only=True)
    workstation = serializers.SlugRelatedField(slug_field="name", read_only=True)
    minor_street = serializers.SlugRelatedField(slug_field="code", read_only=True)
    occurred_street = serializers.SlugRelatedField(slug_field="code", read_only=True)
    reporter_org = serializers.SlugRelatedField(slug_field="name", read_only=True)

    SUMMARY = [
        "uuid",
        "number",
        "situation",
        "situation_label",
        "status",
        "status_label",
        "created",
        "feedback",
    ]
    IDENTITY = ["reporter_org", "reporter_name", "reporter_contact"]

    class Meta:
        model = Report
        fields = [
            "uuid", "number", "channel", "situation", "situation_label", "status", "status_label", "urgency",
            "created", "description", "occurred_at", "occurred_street", "occurred_place", "suspect_relation",
            "immediate_danger", "minor_name", "minor_sex", "minor_birth_date", "minor_age", "minor_id_masked",
            "minor_street", "minor_school", "district", "police", "workstation", "acknowledged_at", "decision",
            "case_number", "decided_at", "feedback", "feedback_at", "contacted_at", "ack_due", "decision_due",
            "feedback_due", "contact_due", "reporter_org", "reporter_name", "reporter_contact",
        ]  # fmt: skip

    def to_representation(self, instance):
        data = super().to_representation(instance)
        user = self.context["request"].user
        if not access.may_see_report_details(user, instance):
            return {k: data[k] for k in self.SUMMARY}
        if not access.may_see_reporter_identity(user, instance):
            for key in self.IDENTITY:
                data[key] = None
        return data
