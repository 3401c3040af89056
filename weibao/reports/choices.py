"""Fixed vocabularies of mandatory reports."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Situation(models.TextChoices):
    """Art. 4 of 《关于建立侵害未成年人案件强制报告制度的意见（试行）》 (2020): the nine situations, plus other."""

    GENITAL_INJURY = "genital_injury", _("生殖器官或隐私部位遭受或疑似遭受非正常损伤")
    UNDER14_SEXUAL = "under14_sexual", _("不满十四周岁女性遭受或疑似遭受性侵害、怀孕、流产")
    OVER14_PREGNANCY = "over14_pregnancy", _("十四周岁以上女性遭受或疑似遭受性侵害所致怀孕、流产")
    ABUSE_INJURY = "abuse_injury", _("多处损伤、严重营养不良、意识不清，疑似受家暴、欺凌、虐待、殴打或被麻醉")
    ABNORMAL_DEATH = "abnormal_death", _("因自杀、自残、工伤、中毒、被麻醉、殴打等非正常原因导致伤残、死亡")
    ABANDONED = "abandoned", _("被遗弃或长期处于无人照料状态")
    MISSING_TRAFFICKED = "missing_trafficked", _("来源不明、失踪或者被拐卖、收买")
    ORGANISED_BEGGING = "organised_begging", _("被组织乞讨")
    OTHER_SERIOUS = "other_serious", _("其他严重侵害身心健康的情形或正面临不法侵害危险")
    OTHER = "other", _("其他情况（不属于上述情形）")


# Sexual-abuse situations: sensitive records. The linked registry person becomes sensitive, and office and
# workstation staff read such reports only with ``may_read_sensitive`` (access.report_scope).
SENSITIVE_SITUATIONS = frozenset(
    {Situation.GENITAL_INJURY, Situation.UNDER14_SEXUAL, Situation.OVER14_PREGNANCY}
)


class Channel(models.TextChoices):
    STAFF = "staff", _("责任单位填报")
    PUBLIC = "public", _("公众网页")
    PARTNER = "partner", _("合作渠道")


class Urgency(models.TextChoices):
    URGENT = "urgent", _("紧急")
    NORMAL = "normal", _("一般")


class Status(models.TextChoices):
    RECEIVED = "received", _("已接报")
    ACCEPTED = "accepted", _("公安已受理")
    DECIDED = "decided", _("公安已作出决定")
    FED_BACK = "fed_back", _("已反馈报告单位")
    CLOSED = "closed", _("已办结")
    MERGED = "merged", _("已合并")


class Decision(models.TextChoices):
    OPENED = "opened", _("立案")
    NOT_OPENED = "not_opened", _("不予立案")
    TRANSFERRED = "transferred", _("移送其他机关")


class Relation(models.TextChoices):
    PARENT = "parent", _("父母")
    STEP_PARENT = "step_parent", _("继父母或父母的同居者")
    RELATIVE = "relative", _("其他亲属")
    TEACHER = "teacher", _("教师或其他教职工")
    CARER = "carer", _("其他照料者")
    ACQUAINTANCE = "acquaintance", _("熟人、邻居")
    PEER = "peer", _("同学或同龄人")
    STRANGER = "stranger", _("陌生人")
    UNKNOWN = "unknown", _("不清楚")


class Step(models.TextChoices):
    """Deadline-tracked steps of a report."""

    ACKNOWLEDGE = "acknowledge", _("公安受理")
    DECIDE = "decide", _("公安作出决定")
    FEEDBACK = "feedback", _("反馈报告单位")
    CONTACT = "contact", _("工作站首次联系家庭")


class Refusal(models.TextChoices):
    """Why a public or partner submission was refused (kept with the submission)."""

    RATE_LIMITED = "rate_limited", _("提交过于频繁")
    TOO_LARGE = "too_large", _("内容过长")
    EMPTY = "empty", _("内容为空或过短")
    SPAM = "spam", _("内容仅含链接或疑似垃圾信息")
    INVALID = "invalid", _("字段有误")
