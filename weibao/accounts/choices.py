"""Fixed vocabularies of the accounts app. Organisation *types* are data (OrganisationType), roles are code."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaLevel(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区")
    STREET = "street", _("街镇")


class StreetKind(models.TextChoices):
    SUBDISTRICT = "subdistrict", _("街道")
    TOWN = "town", _("镇")
    TOWNSHIP = "township", _("乡")
    ZONE = "zone", _("开发区等")


class Role(models.TextChoices):
    CITY_OFFICE = "city_office", _("市未保办工作人员")
    DISTRICT_OFFICE = "district_office", _("区未保办工作人员")
    WORKSTATION_WORKER = "workstation_worker", _("街镇工作站社工")
    WORKSTATION_LEAD = "workstation_lead", _("街镇工作站站长")
    MEMBER_UNIT_OFFICER = "member_unit_officer", _("成员单位联络员")
    POLICE_OFFICER = "police_officer", _("公安民警")
    PROSECUTOR = "prosecutor", _("检察官")
    COURT_STAFF = "court_staff", _("法院工作人员")
    MANDATED_REPORTER = "mandated_reporter", _("强制报告责任人")
    EMPLOYER_HR = "employer_hr", _("用人单位人事")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDIT_ADMIN = "audit_admin", _("审计管理员")
