"""Fixed vocabularies of the feeds app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Carries(models.TextChoices):
    PERSONS = "persons", _("人员信息")
    EVENTS = "events", _("事件")


class BatchSource(models.TextChoices):
    API = "api", _("接口")
    FILE = "file", _("文件")


class BatchStatus(models.TextChoices):
    RECEIVING = "receiving", _("接收中")
    PROCESSING = "processing", _("处理中")
    INTERRUPTED = "interrupted", _("已中断（可续传）")
    DONE = "done", _("已完成")
    FAILED = "failed", _("无法读取")


class LandingStatus(models.TextChoices):
    PENDING = "pending", _("待处理")
    ACCEPTED = "accepted", _("已接收")
    REJECTED = "rejected", _("待修正")
    FIXED = "fixed", _("已修正")
    DISCARDED = "discarded", _("已作废")


class FieldType(models.TextChoices):
    STRING = "string", _("文本")
    INTEGER = "integer", _("整数")
    DATE = "date", _("日期")
    BOOLEAN = "boolean", _("是/否")
    CHOICE = "choice", _("选项")


class Domain(models.TextChoices):
    """The sending sector of an event type (the catalogue's ``domain``; free text allowed, these are named)."""

    EDUCATION = "education", _("教育")
    POLICE = "police", _("公安")
    HEALTH = "health", _("卫生健康")
    CIVIL_AFFAIRS = "civil_affairs", _("民政")
    JUSTICE = "justice", _("司法行政")
    COURTS = "courts", _("法院")
    PROCURATORATE = "procuratorate", _("检察")
