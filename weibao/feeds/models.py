"""Department feeds: the event catalogue, registered feeds, batches, landing rows, source records, events.

Every foreign key keeps its database constraint, although the checks cost commit time in bulk ingest:
integrity of the shared record comes before speed (docs/decisions.md).

A record's path: ``LandingRecord`` (exactly as sent, with its validation result) → ``SourceRecord`` (its
normalised form, one per source id and feed, linked to a ``Person``) → ``Event`` (for event feeds).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import Organisation, OrganisationType
from weibao.lib.i18n import localized_name
from weibao.registry.models import Person
from weibao.registry.querysets import PersonRelatedQuerySet

from .choices import BatchSource, BatchStatus, Carries, Domain, LandingStatus
from .querysets import EventQuerySet, FeedQuerySet, FeedRelatedQuerySet, LandingQuerySet


class EventType(models.Model):
    """A kind of dated event a department reports (catalogue shipped with the system, editable).

    ``fields`` is the schema of the event's own fields: ``{name: {"type": "string|integer|date|boolean|
    choice", "required": bool, "choices": [...], "label": "中文名"}}``. Who may send it: organisations of
    ``department_types`` and the listed ``organisations``.
    """

    code = models.SlugField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=80)
    name_en = models.CharField(_("英文名称"), max_length=120, blank=True)
    domain = models.CharField(_("领域"), max_length=30, blank=True)
    department_types = models.ManyToManyField(
        OrganisationType, blank=True, related_name="+", verbose_name=_("可报送的单位类型")
    )
    organisations = models.ManyToManyField(
        Organisation, blank=True, related_name="+", verbose_name=_("可报送的单位")
    )
    fields = models.JSONField(_("字段定义"), default=dict, blank=True)
    is_sensitive = models.BooleanField(
        _("敏感事件"), default=False, help_text=_("如被侵害、自伤、心理危机：涉及人员随之标为敏感")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("事件类型")
        verbose_name_plural = _("事件类型")

    def __str__(self):
        return localized_name(self)

    @property
    def domain_label(self) -> str:
        return Domain(self.domain).label if self.domain in Domain.values else self.domain

    def may_be_sent_by(self, organisation) -> bool:
        return (
            self.department_types.filter(pk=organisation.type_id).exists()
            or self.organisations.filter(pk=organisation.pk).exists()
        )


class Feed(models.Model):
    """What a department sends: person records or one type of event, under a column mapping.

    ``mapping`` maps a canonical field (``id_number``, ``name`` …, or an event field) to the column name
    in the department's files; unmapped fields are looked up under their canonical name.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.SlugField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    owner = models.ForeignKey(Organisation, models.PROTECT, related_name="feeds", verbose_name=_("报送单位"))
    carries = models.CharField(_("内容"), max_length=10, choices=Carries.choices, default=Carries.EVENTS)
    event_type = models.ForeignKey(
        EventType, models.PROTECT, null=True, blank=True, related_name="feeds", verbose_name=_("事件类型")
    )
    schema_version = models.PositiveIntegerField(_("格式版本"), default=1)
    mapping = models.JSONField(_("字段对应"), default=dict, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = FeedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("数据报送渠道")
        verbose_name_plural = _("数据报送渠道")

    def __str__(self):
        return f"{self.name} ({self.code})"


class Batch(models.Model):
    """One delivery: an API call or a file. Idempotent by ``(feed, idempotency_key)``.

    ``landed_through`` / ``processed_through`` are the last row numbers stored in landing and fully
    processed: a batch interrupted in the middle resumes after them and doubles nothing.
    """

    FEED_FIELD = "feed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    feed = models.ForeignKey(Feed, models.PROTECT, related_name="batches")
    idempotency_key = models.CharField(_("幂等键"), max_length=200)
    source = models.CharField(_("来源"), max_length=10, choices=BatchSource.choices)
    filename = models.CharField(_("文件名"), max_length=255, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=BatchStatus.choices, default=BatchStatus.RECEIVING
    )
    received = models.PositiveIntegerField(_("收到"), default=0)
    accepted = models.PositiveIntegerField(_("接收"), default=0)
    rejected = models.PositiveIntegerField(_("待修正"), default=0)
    duplicates = models.PositiveIntegerField(_("重复（已忽略）"), default=0)
    rejected_by_reason = models.JSONField(_("按原因"), default=dict, blank=True)
    landed_through = models.PositiveIntegerField(default=0)
    processed_through = models.PositiveIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    started = models.DateTimeField(_("开始"), null=True, blank=True)
    finished = models.DateTimeField(_("结束"), null=True, blank=True)
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = FeedRelatedQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("报送批次")
        verbose_name_plural = _("报送批次")
        constraints = [
            models.UniqueConstraint(fields=["feed", "idempotency_key"], name="batch_idempotency_unique")
        ]

    def __str__(self):
        return f"{self.feed.code} · {self.filename or self.idempotency_key}"

    def report(self) -> dict:
        return {
            "batch": str(self.uuid),
            "feed": self.feed.code,
            "status": self.status,
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_by_reason": self.rejected_by_reason,
            "seconds": round(self.seconds, 3),
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
        }


class LandingRecord(models.Model):
    """A record exactly as received (unknown extra columns included) with its validation result.

    Rejected rows wait here, ``errors`` = ``{field: [messages]}``, until an officer fixes or discards them.
    Accepted rows keep their stored status *pending*: ``shown_status`` (and ``objects.with_status``) call
    them accepted once their batch has processed them (``row_number <= batch.processed_through``).
    """

    FEED_FIELD = "batch__feed"

    batch = models.ForeignKey(
        Batch, models.PROTECT, related_name="landing_records", db_index=False, db_constraint=False
    )
    row_number = models.PositiveIntegerField(_("行号"))
    source_id = models.CharField(_("源记录编号"), max_length=200, blank=True)
    raw = models.JSONField(_("原始记录"))
    content_hash = models.CharField(max_length=40)
    status = models.CharField(
        _("状态"), max_length=10, choices=LandingStatus.choices, default=LandingStatus.PENDING
    )
    errors = models.JSONField(_("错误"), default=dict, blank=True)
    corrected = models.JSONField(_("修正后的字段"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    resolution_reason = models.CharField(_("处理说明"), max_length=500, blank=True)
    resolved = models.DateTimeField(null=True, blank=True)

    objects = LandingQuerySet.as_manager()

    class Meta:
        ordering = ["batch", "row_number"]
        verbose_name = _("落地记录")
        verbose_name_plural = _("落地记录")
        constraints = [models.UniqueConstraint(fields=["batch", "row_number"], name="landing_row_unique")]
        indexes = [
            models.Index(
                fields=["batch", "row_number"],
                name="landing_needs_fixing",
                condition=models.Q(status="rejected"),
            ),
            # set only on the few fixed or discarded rows: no index entry for the million others
            models.Index(
                fields=["resolved_by"],
                name="landing_resolved_by",
                condition=models.Q(resolved_by__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.batch_id}#{self.row_number}"

    @property
    def shown_status(self) -> str:
        if self.status == LandingStatus.PENDING and self.row_number <= self.batch.processed_through:
            return LandingStatus.ACCEPTED
        return self.status


class SourceRecord(models.Model):
    """The normalised form of one source id of one feed, linked to the person it is about.

    ``data`` never holds an identifier in clear: the ID number is kept as its masked form and blind index.
    """

    feed = models.ForeignKey(
        Feed, models.PROTECT, related_name="source_records", db_index=False, db_constraint=False
    )
    source_id = models.CharField(_("源记录编号"), max_length=200)
    content_hash = models.CharField(max_length=40)
    data = models.JSONField(_("标准化数据"), default=dict)
    person = models.ForeignKey(Person, models.PROTECT, related_name="source_records", db_constraint=False)
    batch = models.ForeignKey(Batch, models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    row_number = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    objects = PersonRelatedQuerySet.as_manager()  # normalised person data: the person rule

    class Meta:
        verbose_name = _("源记录")
        verbose_name_plural = _("源记录")
        constraints = [models.UniqueConstraint(fields=["feed", "source_id"], name="source_record_unique")]

    def __str__(self):
        return f"{self.feed_id}:{self.source_id}"


class Event(models.Model):
    """A dated, typed event about a person, tied to the feed and source record it came from."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, models.PROTECT, related_name="events", db_constraint=False)
    event_type = models.ForeignKey(
        EventType, models.PROTECT, related_name="events", db_index=False, db_constraint=False
    )
    occurred_on = models.DateField(_("发生日期"))
    source_organisation = models.ForeignKey(
        Organisation,
        models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("报送单位"),
    )
    feed = models.ForeignKey(Feed, models.PROTECT, related_name="events", db_index=False, db_constraint=False)
    source_record = models.OneToOneField(
        SourceRecord, models.PROTECT, related_name="event", db_constraint=False
    )
    data = models.JSONField(_("事件内容"), default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_on", "-pk"]
        verbose_name = _("事件")
        verbose_name_plural = _("事件")
        indexes = [models.Index(fields=["event_type", "occurred_on"], name="event_type_date")]

    def __str__(self):
        return f"{self.event_type} {self.occurred_on}"
