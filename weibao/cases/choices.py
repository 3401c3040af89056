"""Fixed vocabularies of case management. Time limits and instruments are data (models), these are code."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseType(models.TextChoices):
    GUARDIANSHIP = "guardianship", _("监护缺失或监护不当")
    VICTIM = "victim", _("遭受侵害")
    MENTAL_HEALTH = "mental_health", _("心理危机")
    DISABILITY = "disability", _("残疾或孤独症支持")
    BANGJIAO = "bangjiao", _("涉罪未成年人帮教")
    LEFT_BEHIND = "left_behind", _("留守儿童")
    OTHER = "other", _("其他")


class RiskLevel(models.TextChoices):
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")
    CRITICAL = "critical", _("极高")


class Priority(models.TextChoices):
    URGENT = "urgent", _("紧急")
    NORMAL = "normal", _("一般")


class Origin(models.TextChoices):
    REPORT = "report", _("强制报告")
    ALERT = "alert", _("预警")
    REFERRAL = "referral", _("成员单位转介")
    MANUAL = "manual", _("人工立案")


class State(models.TextChoices):
    INTAKE = "intake", _("受理")
    ASSESSMENT = "assessment", _("评估")
    PLAN = "plan", _("制定计划")
    IMPLEMENTATION = "implementation", _("实施干预")
    REVIEW = "review", _("回顾评估")
    CLOSED = "closed", _("结案")


class ApprovalKind(models.TextChoices):
    CLOSE = "close", _("结案")
    REOPEN = "reopen", _("重新开案")


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("已驳回")


class PlanKind(models.TextChoices):
    GOAL = "goal", _("目标")
    ACTION = "action", _("行动")


class PlanStatus(models.TextChoices):
    OPEN = "open", _("进行中")
    DONE = "done", _("已完成")
    DROPPED = "dropped", _("已取消")


class InterventionKind(models.TextChoices):
    HOME_VISIT = "home_visit", _("入户走访")
    COUNSELLING = "counselling", _("心理疏导")
    FAMILY_EDUCATION = "family_education", _("家庭教育指导")
    FINANCIAL_AID = "financial_aid", _("申请救助")
    SCHOOL_SUPPORT = "school_support", _("学业支持")
    MEDICAL_REFERRAL = "medical_referral", _("医疗转介")
    LEGAL_AID = "legal_aid", _("法律援助")
    FAMILY_EDUCATION_ORDER = "family_education_order", _("家庭教育指导令")
    SUPERVISION_ORDER = "supervision_order", _("监护监督令")
    TEMPORARY_GUARDIANSHIP = "temporary_guardianship", _("民政临时监护")
    LONG_TERM_GUARDIANSHIP = "long_term_guardianship", _("民政长期监护")
    PLACEMENT = "placement", _("安置")


# Kinds that are court or police orders: they carry an issuer, a date, terms and compliance reviews.
ORDER_KINDS = {InterventionKind.FAMILY_EDUCATION_ORDER, InterventionKind.SUPERVISION_ORDER}


class InterventionStatus(models.TextChoices):
    PLANNED = "planned", _("计划中")
    ONGOING = "ongoing", _("进行中")
    COMPLETED = "completed", _("已完成")
    STOPPED = "stopped", _("已终止")


class ReferralStatus(models.TextChoices):
    SENT = "sent", _("待接收")
    ACCEPTED = "accepted", _("已接收")
    DECLINED = "declined", _("已拒绝")
    REPORTED = "reported", _("已反馈")
    WITHDRAWN = "withdrawn", _("已撤回")


class NoteKind(models.TextChoices):
    VISIT = "visit", _("走访")
    PHONE = "phone", _("电话联系")
    NOTE = "note", _("工作记录")
