from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from weibao.accounts.choices import AreaLevel
from weibao.accounts.models import Area

from .models import Person


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
        fields = ["name", "sex", "birth_date", "street", "sensitivity"]
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}


class PersonSearchForm(forms.Form):
    q = forms.CharField(label=_("姓名"), required=False)
    birth_date = forms.DateField(
        label=_("出生日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    street = StreetField(
        label=_("街镇"),
        required=False,
        queryset=Area.objects.filter(level=AreaLevel.STREET).select_related("parent"),
    )
