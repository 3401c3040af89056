from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")
    UNKNOWN = "U", _("未知")


class Sensitivity(models.TextChoices):
    NORMAL = "normal", _("一般")
    SENSITIVE = "sensitive", _("敏感")  # sexual-abuse victims, mental health, sealed records


class LinkBasis(models.TextChoices):
    SENT = "sent", _("报送")
    REFERRED = "referred", _("转介")
