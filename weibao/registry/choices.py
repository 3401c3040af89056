from django.db import models
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")
    UNKNOWN = "U", _("未知")


class Sensitivity(models.TextChoices):
    NORMAL = "normal", _("一般")
    SENSITIVE = "sensitive", _("敏感")  # sexual-abuse victims, mental health, sealed records


class PersonKind(models.TextChoices):
    MINOR = "minor", _("未成年人")
    ADULT = "adult", _("成年人（监护人等）")


class LinkBasis(models.TextChoices):
    SENT = "sent", _("报送")
    REFERRED = "referred", _("转介")


class DocumentType(models.TextChoices):
    MAINLAND_ID = "mainland_id", _("居民身份证")
    HK_MACAU_PERMIT = "hk_macau_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    HMT_RESIDENCE = "hmt_residence", _("港澳台居民居住证")
    PASSPORT = "passport", _("护照")
    FOREIGN_PERMANENT = "foreign_permanent", _("外国人永久居留身份证")
    BIRTH_CERTIFICATE = "birth_certificate", _("出生医学证明")
    OTHER = "other", _("其他证件")


class GuardianRelation(models.TextChoices):
    FATHER = "father", _("父亲")
    MOTHER = "mother", _("母亲")
    GRANDPARENT = "grandparent", _("祖父母/外祖父母")
    OTHER_RELATIVE = "other_relative", _("其他近亲属")
    CIVIL_AFFAIRS_TEMPORARY = "civil_affairs_temporary", _("民政部门临时监护")
    CIVIL_AFFAIRS_LONG_TERM = "civil_affairs_long_term", _("民政部门长期监护")
    OTHER = "other", _("其他")
