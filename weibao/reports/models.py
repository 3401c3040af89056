"""Mandatory reports (强制报告) and public concerns: the report, its routing, deadlines and feedback."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import Area, Organisation
from weibao.registry.choices import Sex
from weibao.registry.models import Person

from .choices import Channel, Decision, Refusal, Relation, Situation, Status, Urgency

# The home-page card's label (weibao.ui): here so that this app's catalogue translates it.
OPEN_REPORTS_LABEL = _("未办结的强制报告")


class PartnerChannel(models.Model):
    """A partner platform that forwards reports (随申办未成年人专区, 12355, 12309). Only a hash of its token is kept."""

    PREFIX = "wbp_"

    code = models.SlugField(_("渠道代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    token_prefix = models.CharField(max_length=12, blank=True)
    token_issued = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("合作渠道")
        verbose_name_plural = _("合作渠道")

    def __str__(self):
        return self.name

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def new_token(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)


class ReportSequence(models.Model):
    """The last number given in a year; locked row by row so that numbers are unique and gap-free."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last}"


class ReportQuerySet(models.QuerySet):
    def visible_to(self, user, action: str = "view"):
        from weibao.accounts.access import report_scope

        return report_scope(self, user, action)

    def live(self):
        return self.exclude(status=Status.MERGED)


class Report(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("报告编号"), max_length=20, unique=True)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    partner = models.ForeignKey(
        PartnerChannel,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("合作渠道"),
    )
    external_id = models.CharField(_("渠道内编号"), max_length=64, blank=True)
    # What happened
    situation = models.CharField(_("情形"), max_length=30, choices=Situation.choices)
    description = models.TextField(_("发现的情况"))
    occurred_at = models.DateTimeField(_("发现时间"), null=True, blank=True)
    occurred_street = models.ForeignKey(
        Area, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("发生地街镇")
    )
    occurred_place = models.CharField(_("发生地点"), max_length=200, blank=True)
    suspect_relation = models.CharField(
        _("疑似侵害人与未成年人关系"), max_length=20, choices=Relation.choices, default=Relation.UNKNOWN
    )
    immediate_danger = models.BooleanField(_("未成年人正面临紧迫危险"), default=False)
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    # The minor as reported
    minor_name = models.CharField(_("未成年人姓名"), max_length=50, blank=True)
    minor_sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    minor_birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    minor_age = models.PositiveSmallIntegerField(_("大约年龄"), null=True, blank=True)
    minor_id_encrypted = models.BinaryField(null=True, blank=True)
    minor_id_index = models.CharField(max_length=64, blank=True, db_index=True)
    minor_id_masked = models.CharField(_("身份证号码"), max_length=40, blank=True)
    minor_street = models.ForeignKey(
        Area, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("居住地街镇")
    )
    minor_school = models.CharField(_("就读学校"), max_length=100, blank=True)
    person = models.ForeignKey(
        Person, models.PROTECT, null=True, blank=True, related_name="reports", verbose_name=_("登记人员")
    )
    # Who reported
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    reporter_org = models.ForeignKey(
        Organisation, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("报告单位")
    )
    reporter_name = models.CharField(_("报告人姓名"), max_length=50, blank=True)
    reporter_contact = models.CharField(_("报告人联系方式"), max_length=50, blank=True)
    # Routing
    district = models.ForeignKey(
        Area, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("所属区")
    )
    police = models.ForeignKey(
        Organisation, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("接报公安机关")
    )
    workstation = models.ForeignKey(
        Organisation, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("街镇工作站")
    )
    # Progress
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.RECEIVED)
    created = models.DateTimeField(_("接报时间"), default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(_("公安受理时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision = models.CharField(_("公安决定"), max_length=12, choices=Decision.choices, blank=True)
    case_number = models.CharField(_("案件编号"), max_length=50, blank=True)
    decision_note = models.CharField(_("决定说明"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    feedback = models.TextField(_("给报告单位的反馈"), blank=True)
    feedback_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    feedback_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    contacted_at = models.DateTimeField(_("首次联系家庭时间"), null=True, blank=True)
    contact_note = models.CharField(_("联系情况"), max_length=500, blank=True)
    contacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    # Deadlines and their one-time escalation
    ack_due = models.DateTimeField(_("受理期限"), null=True, blank=True)
    decision_due = models.DateTimeField(_("决定期限"), null=True, blank=True)
    feedback_due = models.DateTimeField(_("反馈期限"), null=True, blank=True)
    contact_due = models.DateTimeField(_("联系期限"), null=True, blank=True)
    escalated = models.JSONField(default=dict, blank=True)  # step → ISO time of the escalation
    # Duplicates
    duplicate_of = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("疑似重复于")
    )
    merged_into = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="absorbed", verbose_name=_("已合并至")
    )
    merge_reason = models.CharField(_("合并事由"), max_length=500, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("强制报告")
        verbose_name_plural = _("强制报告")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "external_id"],
                condition=~models.Q(external_id=""),
                name="report_partner_external_unique",
            )
        ]
        indexes = [models.Index(fields=["status", "created"])]

    def __str__(self):
        return self.number

    @property
    def minor_label(self) -> str:
        return self.minor_name or _("（未填姓名）")


class Attachment(models.Model):
    """A photo or document of a report, stored outside the static files and served only through a scoped view."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    report = models.ForeignKey(Report, models.CASCADE, related_name="attachments")
    filename = models.CharField(_("文件名"), max_length=200)
    kind = models.CharField(_("类型"), max_length=10)  # jpg, png, pdf, docx
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=300)  # relative to the private storage root
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.filename


class Draft(models.Model):
    """A staff reporter's half-filled form, saved on every change: nothing typed is lost."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="report_drafts")
    data = models.JSONField(default=dict)
    updated = models.DateTimeField(auto_now=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-updated"]

    def __str__(self):
        return f"{self.owner} · {self.updated:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> str:
        d = self.data or {}
        return " · ".join(x for x in (d.get("minor_name", ""), (d.get("description") or "")[:30]) if x)


class Submission(models.Model):
    """Every public or partner submission, accepted or refused (with why): the record and the rate-limit ledger."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    partner = models.ForeignKey(PartnerChannel, models.PROTECT, null=True, blank=True, related_name="+")
    address_hash = models.CharField(max_length=64, blank=True)  # keyed hash of the client address
    accepted = models.BooleanField(default=False)
    refusal = models.CharField(max_length=20, choices=Refusal.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    report = models.ForeignKey(Report, models.SET_NULL, null=True, blank=True, related_name="+")
    size = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created"]
        indexes = [
            models.Index(fields=["address_hash", "created"]),
            models.Index(fields=["partner", "created"]),
        ]

    def __str__(self):
        return f"{self.channel} {'accepted' if self.accepted else self.refusal}"
