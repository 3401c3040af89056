from django import forms
from django.utils.translation import gettext_lazy as _

from weibao.lib.widgets import DateInput

from .choices import AreaLevel
from .models import Area, Organisation, OrganisationType, RoleAssignment, User


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = Organisation.EDITABLE_FIELDS

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Area.objects.select_related("parent")
        self.fields["area"].label_from_instance = lambda a: f"{a.code} {a.full_name}"
        self.fields["parent"].queryset = Organisation.objects.visible_to(user).select_related("area")

    def validate_unique(self):
        """A clash with another organisation is shown beside the field it is about."""
        clashes = {f: m for f, m in self.instance.clashes().items() if f not in self._errors}
        for field, message in clashes.items():
            self.add_error(field, message)
        if not clashes:
            super().validate_unique()


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(label=_("搜索"), required=False)
    type = forms.ModelChoiceField(label=_("类型"), queryset=OrganisationType.objects.all(), required=False)
    district = forms.ModelChoiceField(
        label=_("区"), queryset=Area.objects.filter(level=AreaLevel.DISTRICT), required=False
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("文件（CSV 或 XLSX）"))

    def clean_file(self):
        """Refused by its size before it is read into memory."""
        from weibao.lib.tabular import MAX_BYTES

        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("文件过大：%(n)s MB，上限 %(m)s MB (file too large)")
                % {"n": upload.size // 1024 // 1024, "m": MAX_BYTES // 1024 // 1024}
            )
        return upload


class UserForm(forms.ModelForm):
    password = forms.CharField(
        label=_("初始密码"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=_("至少 12 位，包含大小写字母、数字、符号中的 3 类。修改账户时留空表示不改。"),
    )

    class Meta:
        model = User
        fields = ["username", "full_name", "email", "phone", "is_active"]


class RoleAssignmentForm(forms.ModelForm):
    reason = forms.CharField(label=_("授权事由"), max_length=500)

    class Meta:
        model = RoleAssignment
        fields = [
            "role",
            "organisation",
            "area",
            "may_read_sensitive",
            "may_see_full_id",
            "valid_from",
            "valid_until",
        ]
        widgets = {
            "valid_from": DateInput(),
            "valid_until": DateInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = Area.objects.select_related("parent")
        self.fields["area"].label_from_instance = lambda a: f"{a.code} {a.full_name}"
        self.fields["organisation"].queryset = Organisation.objects.select_related("area").filter(
            is_active=True
        )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("用途"), max_length=100)
    days = forms.IntegerField(label=_("有效天数"), min_value=1, initial=90)


class OtpForm(forms.Form):
    token = forms.CharField(
        label=_("动态验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self):
        value = self.cleaned_data["token"].strip()
        if not value.isdigit():
            raise forms.ValidationError(_("验证码应为 6 位数字"))
        return value
