from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse, reverse_lazy
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from weibao.accounts import access
from weibao.accounts.models import Organisation, User
from weibao.alerts.choices import OPEN_STATES
from weibao.alerts.models import Alert
from weibao.lib.dates import NotBefore1900
from weibao.lib.widgets import DateInput, DateTimeInput
from weibao.registry.models import Person
from weibao.reports.models import Report

from .choices import (
    CaseType,
    InterventionKind,
    InterventionStatus,
    NoteKind,
    Origin,
    PlanKind,
    PlanStatus,
    Priority,
    RiskLevel,
)
from .pickers import (
    IdsChoiceField,
    SearchChoiceField,
    SearchMultipleChoiceField,
    organisation_option,
    person_option,
)
from .services import responsible_users

DATE = DateInput()
DATETIME = DateTimeInput()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


def workstations_for(user):
    """Workstations the user may open cases for."""
    ids = [
        o.pk
        for o in Organisation.objects.filter(type__code="workstation", is_active=True).select_related("area")
        if access.may_open_case_at(user, o)
    ]
    return Organisation.objects.filter(pk__in=ids).select_related("area")


def children_to_open(user):
    """The children ``user`` may open a case for: what the open-case form accepts and ``person_picker``
    searches (the registry is too long to list)."""
    return (
        Person.objects.visible_to(user, access.CHANGE)
        .filter(kind="minor")
        .select_related("street")
        .order_by("name")
    )


MAX_CHILDREN = 20  # children of one case (siblings): as many as the picker shows chosen


class OpenCaseForm(forms.Form):
    persons = SearchMultipleChoiceField(
        Person.objects.none(),
        to_option=person_option,
        url=reverse_lazy("cases:person_picker"),
        placeholder=_("姓名、拼音或证件号码"),
        label=_("未成年人（可多选兄弟姐妹）"),
    )
    workstation = forms.ModelChoiceField(Organisation.objects.none(), label=_("负责工作站"))
    case_type = forms.ChoiceField(choices=CaseType.choices, label=_("案件类型"))
    risk_level = forms.ChoiceField(choices=RiskLevel.choices, label=_("风险等级"), initial=RiskLevel.MEDIUM)
    priority = forms.ChoiceField(choices=Priority.choices, label=_("优先级"), initial=Priority.NORMAL)
    origin = forms.ChoiceField(choices=Origin.choices, label=_("来源"), initial=Origin.MANUAL)
    origin_reference = forms.CharField(label=_("来源编号（报告或预警编号）"), required=False, max_length=60)
    family_notes = forms.CharField(
        label=_("家庭情况"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    reason = forms.CharField(label=_("立案事由"), max_length=500)
    report = forms.ModelChoiceField(
        Report.objects.none(), required=False, to_field_name="uuid", widget=forms.HiddenInput
    )
    alert = forms.ModelChoiceField(
        Alert.objects.none(), required=False, to_field_name="uuid", widget=forms.HiddenInput
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["report"].queryset = Report.objects.visible_to(user, access.CHANGE)
        self.fields["alert"].queryset = Alert.objects.visible_to(user, access.CHANGE).filter(
            state__in=OPEN_STATES
        )
        self.fields["persons"].queryset = children_to_open(user)
        self.fields["workstation"].queryset = workstations_for(user)
        if self.fields["workstation"].queryset.count() == 1:
            self.fields["workstation"].initial = self.fields["workstation"].queryset.first()

    def clean_persons(self):
        persons = self.cleaned_data["persons"]
        if len(persons) > MAX_CHILDREN:
            raise ValidationError(
                _("一个个案最多关联 %(n)s 名未成年人 (too many children for one case)"),
                params={"n": MAX_CHILDREN},
            )
        return persons

    def shown_children(self) -> list:
        """The children a re-shown form lists as chosen (masked): the posted ones the user may choose."""
        return self.fields["persons"].widget.chosen_rows(self["persons"].value())


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("事由"), max_length=500)


class TransitionForm(ReasonForm):
    to_state = forms.CharField(widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        choices=[("1", _("批准")), ("0", _("驳回"))], coerce=lambda v: v == "1", label=_("审批")
    )
    reason = forms.CharField(label=_("审批意见"), max_length=500)


class CaseUpdateForm(forms.Form):
    risk_level = forms.ChoiceField(choices=RiskLevel.choices, label=_("风险等级"))
    priority = forms.ChoiceField(choices=Priority.choices, label=_("优先级"))
    workers = IdsChoiceField(User.objects.none(), label=_("责任社工"), required=False)
    reason = forms.CharField(label=_("事由"), max_length=500)

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workers"].queryset = User.objects.filter(
            is_active=True, role_assignments__organisation=case.workstation
        ).distinct()


class NoteForm(forms.Form):
    kind = forms.ChoiceField(choices=NoteKind.choices, label=_("类型"))
    occurred_at = forms.DateTimeField(
        label=_("时间"),
        required=False,
        widget=DATETIME,
        validators=[NotBefore1900(_("时间"), "occurred_at")],
    )
    place = forms.CharField(label=_("地点"), required=False, max_length=200)
    text = forms.CharField(label=_("内容"), widget=forms.Textarea(attrs={"rows": 3}))
    files = MultipleFileField(label=_("附件（PDF、图片、Word、Excel，≤10 MB）"))


def organisation_field(queryset, **kwargs) -> SearchChoiceField:
    """An organisation chosen by name in a search box (``cases:organisation_picker``), not a ``<select>``
    of hundreds; the posted key is checked against ``queryset``."""
    return SearchChoiceField(
        queryset, to_option=organisation_option, placeholder=_("输入单位名称或简称搜索"), **kwargs
    )


class CaseForm(forms.Form):
    """A form of the case page: its organisation fields search within the case (``organisation_picker``)."""

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        search = reverse("cases:organisation_picker", args=[case.uuid])
        for name, field in self.fields.items():
            if isinstance(field, SearchChoiceField):
                field.widget.url = f"{search}?{urlencode({'field': name})}"


class PlanItemForm(CaseForm):
    kind = forms.ChoiceField(choices=PlanKind.choices, label=_("类型"))
    goal = forms.ModelChoiceField(queryset=None, label=_("所属目标"), required=False)
    title = forms.CharField(label=_("内容"), max_length=300)
    responsible_user = forms.ModelChoiceField(User.objects.none(), label=_("责任人"), required=False)
    responsible_organisation = organisation_field(
        Organisation.objects.filter(is_active=True), label=_("责任单位"), required=False
    )
    due = forms.DateField(
        label=_("完成期限"), validators=[NotBefore1900(_("完成期限"), "due")], required=False, widget=DATE
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        self.fields["goal"].queryset = case.plan_items.filter(kind=PlanKind.GOAL)
        self.fields["responsible_user"].queryset = responsible_users(case)


class PlanStatusForm(forms.Form):
    status = forms.ChoiceField(choices=PlanStatus.choices)


class InterventionForm(CaseForm):
    kind = forms.ChoiceField(choices=InterventionKind.choices, label=_("干预类型"))
    person = forms.ModelChoiceField(Person.objects.none(), label=_("对象"), required=False)
    started_on = forms.DateField(
        label=_("开始日期"), validators=[NotBefore1900(_("开始日期"), "started_on")], widget=DATE
    )
    status = forms.ChoiceField(choices=InterventionStatus.choices, label=_("状态"), initial="ongoing")
    description = forms.CharField(label=_("内容"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.CharField(label=_("结果"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    issuer = organisation_field(
        Organisation.objects.filter(type__code__in=["court", "police"]),
        label=_("签发机关（令状）"),
        required=False,
    )
    issued_on = forms.DateField(
        label=_("签发日期（令状）"),
        validators=[NotBefore1900(_("签发日期（令状）"), "issued_on")],
        required=False,
        widget=DATE,
    )
    terms = forms.CharField(label=_("令状内容"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    ORDER_FIELDS = ("issuer", "issued_on", "terms")

    def __init__(self, *args, case, visible_persons=None, **kwargs):
        """``visible_persons``: pks of the children the user may see; the others are offered without name."""
        super().__init__(*args, case=case, **kwargs)
        field = self.fields["person"]
        field.queryset = case.persons.all()
        if visible_persons is not None:
            field.label_from_instance = lambda p: str(p) if p.pk in visible_persons else _("（无权查看）")


class InterventionUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=InterventionStatus.choices, label=_("状态"))
    outcome = forms.CharField(label=_("结果"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ComplianceForm(forms.Form):
    reviewed_on = forms.DateField(
        label=_("检查日期"), validators=[NotBefore1900(_("检查日期"), "reviewed_on")], widget=DATE
    )
    complied = forms.TypedChoiceField(
        choices=[("1", _("已履行")), ("0", _("未履行"))], coerce=lambda v: v == "1", label=_("履行情况")
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class ReferralForm(CaseForm):
    to_organisation = organisation_field(
        Organisation.objects.filter(is_active=True).exclude(type__code="workstation").select_related("type"),
        label=_("接收单位（成员单位或社会组织）"),
    )
    reason = forms.CharField(label=_("转介事由"), widget=forms.Textarea(attrs={"rows": 2}))
    due = forms.DateTimeField(
        label=_("答复期限（默认 5 日）"),
        required=False,
        widget=DATETIME,
        validators=[NotBefore1900(_("答复期限"), "due")],
    )
    files = MultipleFileField(label=_("材料"))


# The organisation fields of the case page's forms, by field name: what ``organisation_picker`` searches.
ORGANISATION_FIELDS = {
    name: form_class
    for form_class in (PlanItemForm, InterventionForm, ReferralForm)
    for name, field in form_class.base_fields.items()
    if isinstance(field, SearchChoiceField)
}


class ResponseForm(forms.Form):
    accept = forms.TypedChoiceField(
        choices=[("1", _("接收")), ("0", _("拒绝"))], coerce=lambda v: v == "1", label=_("答复")
    )
    reason = forms.CharField(label=_("说明（拒绝时必填）"), required=False, max_length=500)


class ReportForm(forms.Form):
    report = forms.CharField(label=_("办理情况反馈"), widget=forms.Textarea(attrs={"rows": 3}))


class CaseFilterForm(forms.Form):
    q = forms.CharField(label=_("案件编号"), required=False)
    state = forms.ChoiceField(choices=[("", _("全部状态"))], required=False, label=_("状态"))
    risk_level = forms.ChoiceField(
        choices=[("", _("全部风险"))] + RiskLevel.choices, required=False, label=_("风险")
    )
    case_type = forms.ChoiceField(
        choices=[("", _("全部类型"))] + CaseType.choices, required=False, label=_("类型")
    )

    def __init__(self, *args, **kwargs):
        from .choices import State

        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("全部状态"))] + State.choices
