from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Area
from weibao.lib.widgets import DateInput

from .choices import DocumentType, GuardianRelation, PersonKind
from .models import Category, Person


class StreetsByDistrict(ModelChoiceIterator):
    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        groups: dict[str, list] = {}
        for street in self.queryset.select_related("parent").order_by("code"):
            groups.setdefault(street.parent.name, []).append(self.choice(street))
        yield from groups.items()


class StreetField(forms.ModelChoiceField):
    """Streets grouped by district in the select."""

    iterator = StreetsByDistrict

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", _("（请选择街镇）"))
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        return obj.name


class PersonForm(forms.ModelForm):
    street = StreetField(
        label=_("街镇"), queryset=Area.objects.filter(level=AreaLevel.STREET).select_related("parent")
    )
    reason = forms.CharField(label=_("修改事由"), max_length=500, required=False)

    class Meta:
        model = Person
        fields = ["kind", "name", "sex", "birth_date", "street", "address", "phone", "sensitivity"]
        widgets = {"birth_date": DateInput()}


class PersonSearchForm(forms.Form):
    q = forms.CharField(
        label=_("姓名 / 拼音 / 证件号"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("张三、zhangsan、zs 或证件号码")}),
    )
    birth_date = forms.DateField(label=_("出生日期"), required=False, widget=DateInput())
    street = StreetField(
        label=_("街镇"),
        required=False,
        queryset=Area.objects.filter(level=AreaLevel.STREET).select_related("parent"),
    )
    EVERYONE = "all"
    kind = forms.ChoiceField(
        label=_("人员类别"),
        required=False,
        choices=[
            ("", PersonKind.MINOR.label),
            (PersonKind.ADULT, PersonKind.ADULT.label),
            (EVERYONE, _("全部")),
        ],
    )


class PersonActionForm(forms.Form):
    """A small form on the person page; ``person`` is the page's person."""

    def __init__(self, *args, person=None, **kwargs):
        self.person = person
        super().__init__(*args, **kwargs)


class DocumentForm(PersonActionForm):
    type = forms.ChoiceField(label=_("证件类型"), choices=DocumentType.choices)
    number = forms.CharField(label=_("证件号码"), max_length=40)
    reason = forms.CharField(label=_("事由"), max_length=500, required=False)


class GuardianForm(PersonActionForm):
    guardian = forms.UUIDField(label=_("监护人编号"), widget=forms.HiddenInput, required=False)
    name = forms.CharField(
        label=_("监护人姓名"), max_length=50, required=False, help_text=_("未登记的监护人将按此姓名新建")
    )
    relation = forms.ChoiceField(label=_("监护关系"), choices=GuardianRelation.choices)
    since = forms.DateField(label=_("起始日期"), required=False, widget=DateInput())
    until = forms.DateField(label=_("终止日期"), required=False, widget=DateInput())

    def clean(self):
        data = super().clean()
        if not data.get("guardian") and not data.get("name"):
            self.add_error("name", _("请填写监护人姓名"))
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", _("终止日期不能早于起始日期"))
        return data


class CategoryForm(PersonActionForm):
    category = forms.ModelChoiceField(label=_("类别"), queryset=Category.objects.filter(is_active=True))
    since = forms.DateField(label=_("起始日期"), required=False, widget=DateInput())
    until = forms.DateField(label=_("终止日期"), required=False, widget=DateInput())


class CategoryEditForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["code", "name", "name_en", "description", "is_sensitive", "is_active", "sort_order"]
