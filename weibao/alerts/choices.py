"""Fixed vocabularies of the alerts app. Levels are data (``AlertLevel``); states and outcomes are code."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    ACTIVE = "active", _("启用")
    RETIRED = "retired", _("停用")


class Recipient(models.TextChoices):
    WORKSTATION = "workstation", _("儿童所在街镇工作站")
    DISTRICT_OFFICE = "district_office", _("区未保办")


class AlertState(models.TextChoices):
    NEW = "new", _("新预警")
    ACKNOWLEDGED = "acknowledged", _("已签收")
    VISITING = "visiting", _("走访中")
    CLOSED = "closed", _("已关闭")


class Outcome(models.TextChoices):
    NO_CONCERN = "no_concern", _("经核实无风险")
    CASE_OPENED = "case_opened", _("已立案")
    REFERRED = "referred", _("已转介")


# The only moves an alert can make.
TRANSITIONS = {
    AlertState.NEW: (AlertState.ACKNOWLEDGED,),
    AlertState.ACKNOWLEDGED: (AlertState.VISITING,),
    AlertState.VISITING: (AlertState.CLOSED,),
    AlertState.CLOSED: (),
}
OPEN_STATES = (AlertState.NEW, AlertState.ACKNOWLEDGED, AlertState.VISITING)
