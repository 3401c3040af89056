"""Report forms: the staff form (with attachments; saved as a draft on every change), the public form, steps."""

from django import forms
from django.utils.translation import gettext_lazy as _

from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Area
from weibao.lib.checksums import id_birth_date, validate_id_number
from weibao.lib.dates import NotBefore1900
from weibao.lib.widgets import DateInput, DateTimeInput
from weibao.registry.choices import Sex

from . import conf
from .checks import check_minor_birth_date, check_occurred_at
from .choices import Decision, Relation, Situation
from .models import Report

# Fields a draft keeps: everything typed except the minor's ID number (drafts are stored in clear; the form
# asks for the number again) — and files, which cannot be kept in a draft and are chosen again on submit.
DRAFT_FIELDS = [
    "situation",
    "description",
    "occurred_at",
    "occurred_street",
    "occurred_place",
    "minor_name",
    "minor_sex",
    "minor_birth_date",
    "minor_age",
    "minor_street",
    "minor_school",
    "suspect_relation",
    "immediate_danger",
]


class StreetField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            queryset=Area.objects.filter(level=AreaLevel.STREET).select_related("parent").order_by("code"),
            **kwargs,
        )

    def label_from_instance(self, obj):
        return obj.full_name


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf,.docx"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class ReportForm(forms.Form):
    situation = forms.ChoiceField(
        label=_("情形"), choices=[("", _("- Select an option -")), *Situation.choices]
    )
    description = forms.CharField(
        label=_("发现的情况"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("看到或听到了什么、何时何地；不必确认属实，疑似即应报告"),
    )
    occurred_at = forms.DateTimeField(
        label=_("发现时间"),
        required=False,
        widget=DateTimeInput(),
        validators=[NotBefore1900(_("发现时间"), "occurred_at")],
    )
    occurred_street = StreetField(label=_("发生地街镇"), required=False)
    occurred_place = forms.CharField(label=_("发生地点"), max_length=200, required=False)
    minor_name = forms.CharField(label=_("未成年人姓名"), max_length=50, required=False)
    minor_sex = forms.ChoiceField(label=_("性别"), choices=Sex.choices, initial=Sex.UNKNOWN)
    minor_birth_date = forms.DateField(label=_("出生日期"), required=False, widget=DateInput())
    minor_age = forms.IntegerField(label=_("大约年龄"), min_value=0, max_value=17, required=False)
    minor_id_number = forms.CharField(
        label=_("身份证号码"),
        max_length=30,
        required=False,
        help_text=_("如知道，可填写；用于与登记信息比对"),
    )
    minor_street = StreetField(label=_("居住地街镇"), required=False)
    minor_school = forms.CharField(label=_("就读学校"), max_length=100, required=False)
    suspect_relation = forms.ChoiceField(
        label=_("疑似侵害人与未成年人关系"), choices=Relation.choices, initial=Relation.UNKNOWN
    )
    immediate_danger = forms.BooleanField(label=_("未成年人正面临紧迫危险"), required=False)

    def clean_minor_id_number(self):
        value = self.cleaned_data.get("minor_id_number", "").strip()
        if not value:
            return ""
        try:
            return validate_id_number(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_occurred_at(self):
        value = self.cleaned_data.get("occurred_at")
        check_occurred_at(value)
        return value

    def clean_minor_birth_date(self):
        value = self.cleaned_data.get("minor_birth_date")
        check_minor_birth_date(value)
        return value

    def clean(self):
        data = super().clean()
        number, born = data.get("minor_id_number"), data.get("minor_birth_date")
        if number and born and id_birth_date(number) != born:
            self.add_error("minor_id_number", _("身份证号码中的出生日期与填写的出生日期不一致"))
        if number and not born:
            data["minor_birth_date"] = id_birth_date(number)
        if not data.get("minor_street") and not data.get("occurred_street"):
            self.add_error(
                "minor_street",
                _("请至少选择居住地或发生地所在街镇，以便转交 (a street is needed for routing)"),
            )
        if not (data.get("minor_name") or "").strip() and not (data.get("minor_school") or "").strip():
            self.add_error("minor_name", _("请填写未成年人姓名或就读学校，便于找到孩子 (name or school)"))
        return data

    def to_report(self, **extra) -> Report:
        d = self.cleaned_data
        report = Report(
            situation=d["situation"],
            description=d["description"].strip(),
            occurred_at=d.get("occurred_at"),
            occurred_street=d.get("occurred_street"),
            occurred_place=d.get("occurred_place", ""),
            minor_name=" ".join((d.get("minor_name") or "").split()),
            minor_sex=d.get("minor_sex") or Sex.UNKNOWN,
            minor_birth_date=d.get("minor_birth_date"),
            minor_age=d.get("minor_age"),
            minor_street=d.get("minor_street"),
            minor_school=d.get("minor_school", ""),
            suspect_relation=d.get("suspect_relation") or Relation.UNKNOWN,
            immediate_danger=bool(d.get("immediate_danger")),
            **extra,
        )
        if d.get("minor_id_number"):
            from .services import set_minor_id

            set_minor_id(report, d["minor_id_number"])
        return report


class StaffReportForm(ReportForm):
    attachments = MultipleFileField(
        label=_("附件"), required=False, help_text=_("照片或文件：jpg、png、pdf、docx，每个不超过 10 MB")
    )

    def clean_attachments(self):
        from django.core.exceptions import ValidationError

        from .attachments import check

        uploads = self.cleaned_data.get("attachments") or []
        if len(uploads) > conf.get("ATTACHMENT_MAX_COUNT"):
            raise forms.ValidationError(_("最多上传 %(n)d 个附件") % {"n": conf.get("ATTACHMENT_MAX_COUNT")})
        errors = []
        for upload in uploads:  # all checked before anything is stored
            try:
                check(upload)
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise forms.ValidationError(errors)
        return uploads


class PublicReportForm(ReportForm):
    reporter_name = forms.CharField(label=_("您的姓名（可不填）"), max_length=50, required=False)
    reporter_contact = forms.CharField(
        label=_("联系方式（可不填）"), max_length=50, required=False, help_text=_("留下电话便于核实和反馈")
    )
    website = forms.CharField(required=False, widget=forms.HiddenInput)  # a trap for form-filling robots

    field_order = [*ReportForm.base_fields, "reporter_name", "reporter_contact"]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("决定"), choices=[("", _("- Select an option -")), *Decision.choices]
    )
    case_number = forms.CharField(label=_("案件编号"), max_length=50, required=False)
    note = forms.CharField(label=_("说明"), max_length=500, required=False)


class ContactForm(forms.Form):
    contact_note = forms.CharField(
        label=_("联系情况"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class FeedbackForm(forms.Form):
    feedback = forms.CharField(
        label=_("给报告单位的反馈"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("报告单位能看到的只有这段文字和状态"),
    )


class MergeForm(forms.Form):
    primary = forms.CharField(label=_("主报告编号"), max_length=20)
    reason = forms.CharField(label=_("合并事由"), max_length=500)
