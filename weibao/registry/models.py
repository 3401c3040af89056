"""The person registry: minors and guardians, their documents, guardianships, households and categories."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from weibao.accounts.models import Area, Organisation
from weibao.lib.i18n import localized_name

from .choices import DocumentType, GuardianRelation, LinkBasis, PersonKind, Sensitivity, Sex
from .querysets import PersonManager, PersonQuerySet, PersonRelatedQuerySet


class Household(models.Model):
    """People living together at one address in one street."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    street = models.ForeignKey(
        Area, models.PROTECT, null=True, blank=True, verbose_name=_("街镇"), related_name="+"
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("家庭户")
        verbose_name_plural = _("家庭户")

    def __str__(self):
        return self.address or str(self.uuid)


class Person(models.Model):
    """A minor or an adult (guardian) known to the system.

    The name is kept as written, with its pinyin (full and initials) for search. Identity documents,
    encrypted, live in ``IdentityDocument``. ``street`` is where the person lives; it drives the
    jurisdiction part of the access rule (a person without a street is seen by city-level roles only).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("类别"), max_length=10, choices=PersonKind.choices, default=PersonKind.MINOR)
    name = models.CharField(_("姓名"), max_length=50)
    name_pinyin = models.CharField(_("姓名拼音"), max_length=200, blank=True)
    name_initials = models.CharField(_("拼音首字母"), max_length=50, blank=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True, db_index=True)
    street = models.ForeignKey(
        Area,
        models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("街镇"),
        related_name="persons",
        db_constraint=False,  # bulk-written: weibao/audit/references.py
    )
    address = models.CharField(_("住址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    household = models.ForeignKey(
        Household,
        models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("家庭户"),
        related_name="members",
        db_index=False,
    )
    sensitivity = models.CharField(
        _("敏感级别"), max_length=10, choices=Sensitivity.choices, default=Sensitivity.NORMAL
    )
    merged_into = models.ForeignKey(
        "self",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="absorbed",
        verbose_name=_("已合并至"),
        db_index=False,
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PersonManager()  # live persons only: merged ones are hidden, never filtered by hand
    all_objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        # Each index costs every bulk insert (feeds create persons by the million): one index per search,
        # no duplicates (docs/decisions.md). Name: ordering (search is ``contains``); pinyin: ``startswith``
        # (pattern ops on PostgreSQL); household/merged-into: mostly empty, so only the filled ones.
        indexes = [
            models.Index(fields=["name"], name="person_name"),
            models.Index(fields=["name_pinyin"], name="person_pinyin", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["name_initials"], name="person_initials", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["household"], name="person_household", condition=Q(household__isnull=False)),
            models.Index(
                fields=["merged_into"], name="person_merged_into", condition=Q(merged_into__isnull=False)
            ),
        ]

    def __str__(self):
        return self.name


class IdentityDocument(models.Model):
    """An identity document of a person: the number encrypted, a keyed blind index for exact look-up,
    and a masked form for display (first 6 and last 4 characters)."""

    # person: its own narrow index (new persons' ids grow, so it is appended to); the number is looked up
    # through the unique (number_index, type, person) index — one wide, randomly ordered index, not two
    person = models.ForeignKey(Person, models.CASCADE, related_name="documents", db_constraint=False)
    type = models.CharField(_("证件类型"), max_length=20, choices=DocumentType.choices)
    number_encrypted = models.BinaryField(_("证件号码（密文）"))
    number_index = models.CharField(max_length=64)
    number_masked = models.CharField(_("证件号码"), max_length=40)
    is_valid = models.BooleanField(_("校验通过"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = PersonRelatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("证件")
        verbose_name_plural = _("证件")
        constraints = [
            models.UniqueConstraint(
                fields=["number_index", "type", "person"], name="identity_document_unique"
            )
        ]

    def __str__(self):
        return f"{self.get_type_display()} {self.number_masked}"


class Guardianship(models.Model):
    """Who is (or was) a minor's guardian, in what relation, since and until when."""

    minor = models.ForeignKey(Person, models.CASCADE, related_name="guardianships")
    guardian = models.ForeignKey(Person, models.CASCADE, related_name="wards")
    relation = models.CharField(_("监护关系"), max_length=30, choices=GuardianRelation.choices)
    since = models.DateField(_("起始日期"), null=True, blank=True)
    until = models.DateField(_("终止日期"), null=True, blank=True)
    source = models.ForeignKey(Organisation, models.PROTECT, null=True, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    objects = PersonRelatedQuerySet.as_manager()
    PERSON_FIELD = "minor"

    class Meta:
        verbose_name = _("监护关系")
        verbose_name_plural = _("监护关系")
        # An empty "since" is distinct to the database (NULLs; SQLite has no ``nulls_distinct``):
        # ``services.add_guardianship`` refuses that duplicate itself, under a lock on the minor.
        constraints = [
            models.UniqueConstraint(
                fields=["minor", "guardian", "relation", "since"], name="guardianship_unique"
            )
        ]

    def __str__(self):
        return f"{self.guardian} → {self.minor} ({self.get_relation_display()})"


class Category(models.Model):
    """A kind of situation a minor can be in (困境, orphan, left-behind …): a list administrators edit."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    description = models.TextField(_("说明"), blank=True)
    is_sensitive = models.BooleanField(
        _("敏感类别"), default=False, help_text=_("如被侵害、心理危机：人员随之标为敏感")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("人员类别")
        verbose_name_plural = _("人员类别")

    def __str__(self):
        return localized_name(self)


class PersonCategory(models.Model):
    """A person's category over a period, with where the information came from."""

    person = models.ForeignKey(Person, models.CASCADE, related_name="categories")
    category = models.ForeignKey(Category, models.PROTECT, related_name="+")
    since = models.DateField(_("起始日期"), null=True, blank=True)
    until = models.DateField(_("终止日期"), null=True, blank=True)
    source = models.ForeignKey(Organisation, models.PROTECT, null=True, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    objects = PersonRelatedQuerySet.as_manager()

    class Meta:
        verbose_name = _("人员类别记录")
        verbose_name_plural = _("人员类别记录")

    def __str__(self):
        return f"{self.person} · {self.category}"


class DepartmentLink(models.Model):
    """Why an organisation may see a person: it sent data about them, or the person was referred to it."""

    # both keys served by the two composite indexes below
    person = models.ForeignKey(
        Person, models.CASCADE, related_name="department_links", db_index=False, db_constraint=False
    )
    organisation = models.ForeignKey(
        Organisation, models.PROTECT, related_name="person_links", db_index=False, db_constraint=False
    )
    basis = models.CharField(max_length=10, choices=LinkBasis.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "organisation", "basis"], name="department_link_unique")
        ]
        indexes = [models.Index(fields=["organisation", "person"])]

    def __str__(self):
        return f"{self.organisation} → {self.person}"


class MergeRecord(models.Model):
    """Two persons found to be one child: what moved from the absorbed to the survivor, so a split can undo it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    survivor = models.ForeignKey(Person, models.PROTECT, related_name="merges_received")
    absorbed = models.ForeignKey(Person, models.PROTECT, related_name="merges_given")
    moved = models.JSONField(default=dict)  # {"app.model.field": [pk, …]}
    reason = models.CharField(_("合并事由"), max_length=500)
    merged_by = models.ForeignKey("accounts.User", models.PROTECT, related_name="+")
    merged_at = models.DateTimeField(auto_now_add=True)
    split_by = models.ForeignKey("accounts.User", models.PROTECT, null=True, blank=True, related_name="+")
    split_at = models.DateTimeField(null=True, blank=True)
    split_reason = models.CharField(_("拆分事由"), max_length=500, blank=True)

    class Meta:
        ordering = ["-merged_at"]
        verbose_name = _("合并记录")
        verbose_name_plural = _("合并记录")

    def __str__(self):
        return f"{self.absorbed} → {self.survivor}"


class MatchCandidate(models.Model):
    """A pair the linkage model could not decide: it waits in the review queue for a person's judgement.

    Decisions are kept as labels, from which the system measures its own precision.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("待复核")
        SAME = "same", _("同一人")
        DIFFERENT = "different", _("不是同一人")
        SKIPPED = "skipped", _("跳过")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(Person, models.CASCADE, related_name="match_candidates")
    other = models.ForeignKey(Person, models.CASCADE, related_name="+")
    match_probability = models.FloatField(_("匹配概率"))
    match_weights = models.JSONField(_("各字段匹配权重"), default=dict)
    model_version = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    decided_by = models.ForeignKey("accounts.User", models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = PersonRelatedQuerySet.as_manager()

    class Meta:
        ordering = ["-match_probability", "pk"]
        verbose_name = _("待复核匹配")
        verbose_name_plural = _("待复核匹配")
        constraints = [models.UniqueConstraint(fields=["person", "other"], name="match_candidate_unique")]

    def __str__(self):
        return f"{self.person} ~ {self.other} ({self.match_probability:.2f})"


class LinkageModel(models.Model):
    """One trained version of the probabilistic linkage model (Splink settings with its m/u values)."""

    version = models.CharField(_("版本"), max_length=40, unique=True)
    settings = models.JSONField()
    records = models.PositiveIntegerField(_("训练记录数"), default=0)
    trained_at = models.DateTimeField(auto_now_add=True)
    trained_by = models.ForeignKey("accounts.User", models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-trained_at"]
        verbose_name = _("匹配模型")
        verbose_name_plural = _("匹配模型")

    def __str__(self):
        return self.version
