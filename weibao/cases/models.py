"""Cases: a workstation's help for one or more children, from intake to closure (issue 7).

Every row below hangs off a ``Case`` and is read through ``visible_to(user, action)``, which calls
``access.case_scope`` (the one access rule) with the path to the case.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import Area, Organisation

from .choices import (
    ApprovalKind,
    ApprovalStatus,
    CaseType,
    InterventionKind,
    InterventionStatus,
    NoteKind,
    Origin,
    PlanKind,
    PlanStatus,
    Priority,
    ReferralStatus,
    RiskLevel,
    State,
)

User = settings.AUTH_USER_MODEL


class CaseScopedQuerySet(models.QuerySet):
    """Rows of a case, scoped by the case they belong to (``CASE_FIELD`` names the path, "" for Case)."""

    def visible_to(self, user, action="view"):
        from weibao.accounts.access import case_scope

        return case_scope(self, user, action, prefix=getattr(self.model, "CASE_FIELD", "case"))


class CaseCounter(models.Model):
    """The last case number given out per year; locked while the next number is taken."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last}"


class Case(models.Model):
    CASE_FIELD = ""
    RELATION_PATH = "referrals"  # department users see a case through an active referral to them

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    persons = models.ManyToManyField(
        "registry.Person", through="CaseMember", related_name="cases", verbose_name=_("未成年人")
    )
    workstation = models.ForeignKey(
        Organisation, models.PROTECT, related_name="cases", verbose_name=_("负责工作站")
    )
    # The workstation's street, kept on the case: it is the case's jurisdiction in the access rule.
    street = models.ForeignKey(Area, models.PROTECT, related_name="cases", verbose_name=_("街镇"))
    workers = models.ManyToManyField(User, blank=True, related_name="cases", verbose_name=_("责任社工"))
    case_type = models.CharField(_("案件类型"), max_length=30, choices=CaseType.choices)
    risk_level = models.CharField(_("风险等级"), max_length=10, choices=RiskLevel.choices)
    priority = models.CharField(_("优先级"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    origin = models.CharField(_("来源"), max_length=10, choices=Origin.choices)
    origin_reference = models.CharField(_("来源编号"), max_length=60, blank=True)
    report = models.ForeignKey(
        "reports.Report",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("来源报告"),
    )
    alert = models.ForeignKey(
        "alerts.Alert",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("来源预警"),
    )
    family_notes = models.TextField(_("家庭情况"), blank=True)
    state = models.CharField(_("状态"), max_length=20, choices=State.choices, default=State.INTAKE)
    state_entered = models.DateTimeField(_("进入当前状态"))
    state_due = models.DateTimeField(_("当前阶段时限"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("已上报超时"), null=True, blank=True)
    opened_at = models.DateTimeField(_("立案时间"))
    opened_by = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("立案人"))
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        indexes = [models.Index(fields=["street", "state"]), models.Index(fields=["state", "state_due"])]

    def __str__(self):
        return self.number

    @property
    def is_overdue(self) -> bool:
        return bool(self.state_due and self.state != State.CLOSED and self.state_due < timezone.now())

    def visible_children(self, user) -> set[int]:
        """The pks of this case's children that ``user`` may see (the person rule): a page, the PDF or the
        timeline names only these."""
        return set(self.persons.visible_to(user).values_list("pk", flat=True))


class CaseMember(models.Model):
    """A child the case concerns (siblings share a case)."""

    RELATION_PATH = "case__referrals"

    case = models.ForeignKey(Case, models.CASCADE, related_name="members")
    person = models.ForeignKey("registry.Person", models.PROTECT, related_name="case_memberships")
    note = models.CharField(_("备注"), max_length=200, blank=True)

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "person"], name="case_member_unique")]

    def __str__(self):
        return f"{self.case} · {self.person}"


class TimeLimit(models.Model):
    """How long a step may take (data, edited by the city office): per state, optionally per priority.

    ``step`` is a case state or ``referral_response`` / ``referral_report``; an empty priority applies to
    both priorities unless a row for the specific priority exists.
    """

    step = models.CharField(_("环节"), max_length=30)
    priority = models.CharField(_("优先级"), max_length=10, choices=Priority.choices, blank=True)
    hours = models.PositiveIntegerField(_("时限（小时）"))
    label = models.CharField(_("说明"), max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step", "priority"], name="time_limit_unique")]
        verbose_name = _("时限")

    def __str__(self):
        return f"{self.step}/{self.priority or '*'}: {self.hours}h"


class CaseTransition(models.Model):
    case = models.ForeignKey(Case, models.CASCADE, related_name="transitions")
    from_state = models.CharField(_("原状态"), max_length=20, choices=State.choices, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20, choices=State.choices)
    actor = models.ForeignKey(User, models.PROTECT, related_name="+", verbose_name=_("操作人"))
    at = models.DateTimeField(_("时间"))
    reason = models.CharField(_("事由"), max_length=500)
    approval = models.ForeignKey("Approval", models.PROTECT, null=True, blank=True, related_name="+")

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.case} {self.from_state or '—'} → {self.to_state}"


class Approval(models.Model):
    """A worker's request to close or reopen a case, decided by the workstation lead."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="approvals")
    kind = models.CharField(_("申请类型"), max_length=10, choices=ApprovalKind.choices)
    reason = models.CharField(_("申请事由"), max_length=500)
    requested_by = models.ForeignKey(User, models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(
        _("状态"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    decided_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(_("审批意见"), max_length=500, blank=True)

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(status="pending"), name="one_pending_approval_per_case"
            )
        ]

    # --- assessments ---------------------------------------------------------------------------------

    def __str__(self):
        return f"{self.case} {self.get_kind_display()} {self.get_status_display()}"


class Instrument(models.Model):
    """A scored questionnaire (data): domains → items with scored options, and level bands on the total."""

    code = models.SlugField(_("代码"), max_length=40)
    version = models.CharField(_("版本"), max_length=20)
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="instrument_version_unique")]

    def __str__(self):
        return f"{self.name}（{self.version}）"

    @property
    def max_total(self) -> int:
        return sum(max((o["score"] for o in item.options), default=0) for item in self.all_items())

    def all_items(self):
        return Item.objects.filter(domain__instrument=self).order_by("domain__order", "order")

    def level_for(self, total: int):
        return self.bands.filter(min_total__lte=total, max_total__gte=total).first()


class Domain(models.Model):
    instrument = models.ForeignKey(Instrument, models.CASCADE, related_name="domains")
    code = models.SlugField(max_length=40)
    name = models.CharField(_("维度"), max_length=100)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["instrument", "code"], name="domain_unique")]

    def __str__(self):
        return self.name


class Item(models.Model):
    domain = models.ForeignKey(Domain, models.CASCADE, related_name="items")
    code = models.SlugField(max_length=40)
    question = models.CharField(_("题目"), max_length=300)
    options = models.JSONField(_("选项"), help_text='[{"label": "…", "score": 0}, …]')
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order"]
        constraints = [models.UniqueConstraint(fields=["domain", "code"], name="item_unique")]

    def __str__(self):
        return self.question


class LevelBand(models.Model):
    instrument = models.ForeignKey(Instrument, models.CASCADE, related_name="bands")
    min_total = models.IntegerField()
    max_total = models.IntegerField()
    code = models.SlugField(max_length=40)
    label = models.CharField(_("等级"), max_length=60)

    class Meta:
        ordering = ["min_total"]

    def __str__(self):
        return f"{self.min_total}–{self.max_total} {self.label}"


class Assessment(models.Model):
    """One use of an instrument about one child of the case: answers, total, per-domain scores, level."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="assessments")
    person = models.ForeignKey("registry.Person", models.PROTECT, related_name="case_assessments")
    instrument = models.ForeignKey(Instrument, models.PROTECT, related_name="assessments")
    answers = models.JSONField(default=dict)  # item code → option index
    total = models.IntegerField(_("总分"))
    domain_scores = models.JSONField(_("维度得分"), default=dict)  # domain code → score
    level = models.CharField(_("等级"), max_length=60)
    level_code = models.SlugField(max_length=40, blank=True)
    notes = models.TextField(_("评估意见"), blank=True)
    assessed_by = models.ForeignKey(User, models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField(_("评估时间"))

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["assessed_at"]

    # --- plan, interventions, referrals, notes -----------------------------------------------------------

    def __str__(self):
        return f"{self.case} {self.instrument.name} {self.total}"


class PlanItem(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="plan_items")
    kind = models.CharField(_("类型"), max_length=10, choices=PlanKind.choices)
    goal = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="actions", verbose_name=_("所属目标")
    )
    title = models.CharField(_("内容"), max_length=300)
    responsible_user = models.ForeignKey(
        User, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("责任人")
    )
    responsible_organisation = models.ForeignKey(
        Organisation, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("责任单位")
    )
    due = models.DateField(_("完成期限"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.OPEN)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(User, models.PROTECT, related_name="+")

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created", "pk"]

    def __str__(self):
        return f"{self.case} {self.title}"


class Intervention(models.Model):
    """A typed intervention with its outcome. Orders (家庭教育指导令, 监护监督令) carry issuer, date, terms."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="interventions")
    person = models.ForeignKey(
        "registry.Person", models.PROTECT, null=True, blank=True, related_name="case_interventions"
    )
    kind = models.CharField(_("干预类型"), max_length=30, choices=InterventionKind.choices)
    started_on = models.DateField(_("开始日期"))
    description = models.TextField(_("内容"), blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=InterventionStatus.choices, default=InterventionStatus.ONGOING
    )
    outcome = models.TextField(_("结果"), blank=True)
    issuer = models.ForeignKey(
        Organisation, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("签发机关")
    )
    issued_on = models.DateField(_("签发日期"), null=True, blank=True)
    terms = models.TextField(_("令状内容"), blank=True)
    created_by = models.ForeignKey(User, models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["started_on", "pk"]

    def __str__(self):
        return f"{self.case} {self.get_kind_display()}"


class ComplianceReview(models.Model):
    CASE_FIELD = "intervention__case"

    intervention = models.ForeignKey(Intervention, models.CASCADE, related_name="reviews")
    reviewed_on = models.DateField(_("检查日期"))
    complied = models.BooleanField(_("已履行"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    reviewed_by = models.ForeignKey(User, models.PROTECT, related_name="+")

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["reviewed_on", "pk"]

    def __str__(self):
        return f"{self.intervention} {self.reviewed_on}"


class Referral(models.Model):
    """A case referred to a member unit or social organisation, which accepts or declines and reports back."""

    RELATION_PATH = ""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="referrals")
    to_organisation = models.ForeignKey(
        Organisation, models.PROTECT, related_name="case_referrals", verbose_name=_("接收单位")
    )
    reason = models.TextField(_("转介事由"))
    status = models.CharField(_("状态"), max_length=10, choices=ReferralStatus.choices, default="sent")
    sent_by = models.ForeignKey(User, models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(_("转介时间"))
    due = models.DateTimeField(_("答复期限"))
    responded_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+")
    responded_at = models.DateTimeField(null=True, blank=True)
    response_reason = models.CharField(_("接收/拒绝说明"), max_length=500, blank=True)
    report_due = models.DateTimeField(_("反馈期限"), null=True, blank=True)
    report = models.TextField(_("办理反馈"), blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    escalated_status = models.CharField(max_length=10, blank=True)  # the status whose deadline was escalated

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self):
        return f"{self.case} → {self.to_organisation}"

    @property
    def current_due(self):
        return {ReferralStatus.SENT: self.due, ReferralStatus.ACCEPTED: self.report_due}.get(self.status)

    @property
    def is_overdue(self) -> bool:
        due = self.current_due
        return bool(due and due < timezone.now())


class Note(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="notes")
    kind = models.CharField(_("类型"), max_length=10, choices=NoteKind.choices, default=NoteKind.VISIT)
    occurred_at = models.DateTimeField(_("时间"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    text = models.TextField(_("内容"))
    author = models.ForeignKey(User, models.PROTECT, related_name="+")

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self):
        return f"{self.case} {self.get_kind_display()}"


def attachment_path(instance, filename):
    return f"cases/{instance.case.uuid}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file on a note or a referral. Stored under MEDIA_ROOT (never static) with a random name and served
    only through the scoped, audited download view."""

    RELATION_PATH = "referral"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="attachments")
    note = models.ForeignKey(Note, models.CASCADE, null=True, blank=True, related_name="attachments")
    referral = models.ForeignKey(Referral, models.CASCADE, null=True, blank=True, related_name="attachments")
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(User, models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    objects = CaseScopedQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self):
        return f"{self.case} {self.original_name}"
