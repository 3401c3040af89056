"""Early warning: levels, rules with immutable versions, alerts with their evidence and transitions,
and each person's risk summary (maintained by screening and by alert transitions).

A rule's conditions are a small JSON structure (``conditions.py`` validates and compiles it to one SQL
query); the screening engine (``engine.py``) runs the active rules over a snapshot in DuckDB.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Prefetch, Q
from django.utils.translation import gettext_lazy as _

from weibao.accounts import access
from weibao.feeds.models import Event
from weibao.lib.i18n import localized_name
from weibao.registry.models import Person

from .choices import OPEN_STATES, AlertState, Outcome, Recipient, RuleStatus


class AlertLevel(models.Model):
    """A grade of alert as Chinese practice names it (极危/高危/中危/低危); the weight adds to the risk score."""

    code = models.SlugField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=20)
    name_en = models.CharField(_("英文名称"), max_length=40, blank=True)
    colour = models.CharField(_("颜色"), max_length=20, help_text=_("Tabler 颜色名，如 red、orange"))
    weight = models.PositiveSmallIntegerField(_("风险分值"))
    order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        ordering = ["order"]
        verbose_name = _("预警等级")
        verbose_name_plural = _("预警等级")

    def __str__(self):
        return localized_name(self)


class RuleQuerySet(models.QuerySet):
    def visible_to(self, user, action=access.VIEW):
        return access.rule_scope(self, user, action)


class Rule(models.Model):
    """An early-warning rule. What it says lives in its versions; ``current`` is the one in force."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.SlugField(_("代码"), max_length=60, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=RuleStatus.choices, default=RuleStatus.DRAFT)
    current = models.ForeignKey(
        "RuleVersion", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("当前版本")
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("预警规则")
        verbose_name_plural = _("预警规则")

    def __str__(self):
        return self.current.name if self.current_id else self.code


class RuleVersion(models.Model):
    """One version of a rule: never changed once written (every edit writes a new one)."""

    rule = models.ForeignKey(Rule, models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    name = models.CharField(_("名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    definition = models.JSONField(_("触发条件"))
    level = models.ForeignKey(AlertLevel, models.PROTECT, related_name="+", verbose_name=_("预警等级"))
    recipient = models.CharField(
        _("接收单位"), max_length=20, choices=Recipient.choices, default=Recipient.WORKSTATION
    )
    deadline_hours = models.PositiveIntegerField(_("处置时限（小时）"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rule", "-number"]
        verbose_name = _("规则版本")
        verbose_name_plural = _("规则版本")
        constraints = [models.UniqueConstraint(fields=["rule", "number"], name="rule_version_unique")]

    def __str__(self):
        return f"{self.name} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk:
            raise ValueError("RuleVersion rows are immutable: write a new version")
        super().save(*args, **kwargs)


class AlertQuerySet(models.QuerySet):
    def visible_to(self, user, action=access.VIEW):
        return access.alert_scope(self, user, action)

    def open(self):
        return self.filter(state__in=OPEN_STATES)


class Alert(models.Model):
    """A rule fired for a person. At most one open alert per rule and person; firing again adds evidence."""

    PERSON_FIELD = "person"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    rule = models.ForeignKey(Rule, models.PROTECT, related_name="alerts")
    rule_version = models.ForeignKey(
        RuleVersion, models.PROTECT, related_name="alerts", verbose_name=_("触发规则版本")
    )
    person = models.ForeignKey(Person, models.PROTECT, related_name="alerts")
    state = models.CharField(_("状态"), max_length=12, choices=AlertState.choices, default=AlertState.NEW)
    outcome = models.CharField(_("处置结果"), max_length=12, choices=Outcome.choices, blank=True)
    visit_result = models.TextField(_("走访情况"), blank=True)
    fired_at = models.DateTimeField(_("预警时间"))
    last_fired_at = models.DateTimeField(_("最近触发"))
    deadline = models.DateTimeField(_("处置期限"))
    escalated_at = models.DateTimeField(_("超期上报时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-fired_at", "-pk"]
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "person"],
                condition=Q(state__in=OPEN_STATES),
                name="alert_one_open_per_rule_person",
            )
        ]
        indexes = [models.Index(fields=["state", "deadline"], name="alert_state_deadline")]

    def __str__(self):
        return f"{self.rule_version.name} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def visible_evidence(self, user):
        """This alert's evidence events that ``user`` may see (the event rule): what its page and the API
        show of it."""
        return Event.objects.visible_to(user).filter(pk__in=self.evidence.values("event_id"))

    @staticmethod
    def prefetch_visible_evidence(user) -> Prefetch:
        """``visible_evidence`` for a whole list of alerts in one query (the same event rule), as
        ``alert.visible_evidence_rows``: evidence rows with their events, oldest first."""
        rows = AlertEvidence.objects.filter(event__in=Event.objects.visible_to(user)).select_related("event")
        return Prefetch(
            "evidence", rows.order_by("event__occurred_on", "event_id"), to_attr="visible_evidence_rows"
        )


class AlertEvidence(models.Model):
    """An event that made the rule fire (added again on each firing that brings new events)."""

    alert = models.ForeignKey(Alert, models.CASCADE, related_name="evidence")
    event = models.ForeignKey(Event, models.PROTECT, related_name="+")
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["event__occurred_on"]
        constraints = [models.UniqueConstraint(fields=["alert", "event"], name="alert_evidence_unique")]

    def __str__(self):
        return f"{self.alert_id}:{self.event_id}"


class AlertTransition(models.Model):
    """Who moved an alert from one state to the next, when and why."""

    alert = models.ForeignKey(Alert, models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=12, choices=AlertState.choices)
    to_state = models.CharField(max_length=12, choices=AlertState.choices)
    reason = models.CharField(_("事由"), max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_state} → {self.to_state}"


class RiskSummaryQuerySet(models.QuerySet):
    def visible_to(self, user, action=access.VIEW):
        return access.alert_scope(self, user, action)


class RiskSummary(models.Model):
    """A person's open alerts in one number: the sum of their levels' weights (the reasons are the alerts)."""

    PERSON_FIELD = "person"

    person = models.OneToOneField(Person, models.CASCADE, primary_key=True, related_name="risk")
    score = models.PositiveIntegerField(_("风险分"), default=0)
    open_alerts = models.PositiveIntegerField(_("未关闭预警"), default=0)
    updated = models.DateTimeField(auto_now=True)

    objects = RiskSummaryQuerySet.as_manager()

    class Meta:
        verbose_name = _("风险概况")
        verbose_name_plural = _("风险概况")

    def __str__(self):
        return f"{self.person_id}: {self.score}"
