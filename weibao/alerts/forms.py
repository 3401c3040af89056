import yaml
from django import forms
from django.utils.translation import gettext_lazy as _

from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Area

from . import conditions
from .choices import AlertState, Outcome, Recipient
from .models import AlertLevel


def parse_definition(text: str):
    """The conditions as typed: YAML or JSON (JSON is YAML). Raises ``forms.ValidationError``.

    The text is bounded (``conditions.MAX_TEXT``); the parsed tree is bounded by ``conditions.validate``
    (``MAX_NODES`` clauses), which the service runs before any save or dry run."""
    if len(text or "") > conditions.MAX_TEXT:
        raise forms.ValidationError(
            _("条件文本不能超过 %(n)s 个字符 (at most %(n)s characters)") % {"n": conditions.MAX_TEXT}
        )
    try:
        value = conditions.load_yaml(text or "")
    except yaml.YAMLError as exc:
        raise forms.ValidationError(
            _("不是有效的 YAML 或 JSON：%(e)s (not valid YAML or JSON)") % {"e": exc}
        ) from exc
    except conditions.YamlTooDeep:  # "[" * 1000, an alias of its own ancestor
        raise forms.ValidationError(_("嵌套过深 (nested too deeply)")) from None
    if value is None:
        raise forms.ValidationError(_("必填 (required)"))
    return value


def definition_text(definition) -> str:
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False)


class RuleForm(forms.Form):
    code = forms.SlugField(
        label=_("代码"), max_length=60, help_text=_("英文小写字母、数字、下划线，创建后不可改")
    )
    name = forms.CharField(label=_("名称"), max_length=100)
    description = forms.CharField(label=_("说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    level = forms.ModelChoiceField(label=_("预警等级"), queryset=AlertLevel.objects.all(), empty_label=None)
    recipient = forms.ChoiceField(label=_("接收单位"), choices=Recipient.choices)
    deadline_hours = forms.IntegerField(label=_("处置时限（小时）"), min_value=1, max_value=2160)
    definition = forms.CharField(
        label=_("触发条件（YAML 或 JSON）"),
        max_length=conditions.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 10, "class": "font-monospace", "spellcheck": "false"}),
        help_text=_(
            "条件类型：all、any、event_count、events_across_departments、no_event、category、age、no_other_guardian"
        ),
    )
    reason = forms.CharField(label=_("修改事由"), max_length=500, required=False)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]

    def clean_definition(self):
        return parse_definition(self.cleaned_data["definition"])


class TransitionForm(forms.Form):
    to_state = forms.ChoiceField(choices=AlertState.choices, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("事由"), max_length=500)
    visit_result = forms.CharField(
        label=_("走访情况"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    outcome = forms.ChoiceField(label=_("处置结果"), choices=[("", "—"), *Outcome.choices], required=False)


class AlertFilterForm(forms.Form):
    level = forms.ModelChoiceField(label=_("等级"), queryset=AlertLevel.objects.all(), required=False)
    state = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部未关闭")), *AlertState.choices], required=False
    )
    street = forms.ModelChoiceField(
        label=_("街镇"), queryset=Area.objects.filter(level=AreaLevel.STREET).order_by("code"), required=False
    )
    overdue = forms.ChoiceField(
        label=_("期限"), choices=[("", _("全部")), ("1", _("仅超期"))], required=False
    )


class ImportForm(forms.Form):
    MAX_BYTES = 1024 * 1024  # a city's rules are a few kilobytes; the file is read into memory

    file = forms.FileField(label=_("规则文件（YAML）"))
    reason = forms.CharField(label=_("导入事由"), max_length=500)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("文件不能超过 1 MB (file larger than 1 MB)"))
        return upload
