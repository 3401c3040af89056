"""Areas, organisations, users, role assignments and API tokens — what the access rule reasons about."""

import hashlib
import secrets
import uuid

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.lib.checksums import validate_uscc
from weibao.lib.i18n import localized_name

from .choices import AreaLevel, Role, StreetKind


class Area(models.Model):
    """Shanghai (city), its 16 districts (GB/T 2260) and its streets and towns (9-digit statistical codes)."""

    code = models.CharField(_("代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    level = models.CharField(_("层级"), max_length=10, choices=AreaLevel.choices)
    kind = models.CharField(_("类型"), max_length=12, choices=StreetKind.choices, blank=True)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children")

    class Meta:
        ordering = ["code"]
        verbose_name = _("区域")
        verbose_name_plural = _("区域")

    def __str__(self):
        return self.name

    @property
    def full_name(self) -> str:
        if self.level == AreaLevel.STREET and self.parent_id:
            return f"{self.parent.name}{self.name}"
        return self.name

    def contains(self, other: "Area") -> bool:
        """Whether ``other`` lies inside this area (or is it)."""
        if self.level == AreaLevel.CITY or other.pk == self.pk:
            return True
        return self.level == AreaLevel.DISTRICT and other.parent_id == self.pk


class OrganisationType(models.Model):
    """A kind of organisation (committee office, school, hotel …). Names and flags are administrator data."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=50)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    is_mandated_reporter = models.BooleanField(
        _("负有强制报告责任"), default=False, help_text=_("在工作中密切接触未成年人的单位")
    )
    is_member_unit = models.BooleanField(_("成员单位"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("单位类型")
        verbose_name_plural = _("单位类型")

    def __str__(self):
        return localized_name(self)


class OrganisationQuerySet(models.QuerySet):
    def visible_to(self, user, action="view"):
        from .access import organisation_scope

        return organisation_scope(self, user, action)


class Organisation(models.Model):
    """A body that uses the system or that data is about: office, workstation, member unit, school …"""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    type = models.ForeignKey(
        OrganisationType, models.PROTECT, verbose_name=_("类型"), related_name="organisations"
    )
    area = models.ForeignKey(Area, models.PROTECT, verbose_name=_("所在区域"), related_name="organisations")
    parent = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, verbose_name=_("上级单位"), related_name="children"
    )
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, default="")
    coordinates = models.BooleanField(
        _("未保工作协调机构"), default=False, help_text=_("本级未成年人保护工作的协调机构（如妇儿工委办）")
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    # What forms, the API and the audit diff deal with: everything an administrator edits.
    EDITABLE_FIELDS = [
        "name",
        "short_name",
        "type",
        "area",
        "parent",
        "uscc",
        "coordinates",
        "address",
        "phone",
        "is_active",
    ]

    class Meta:
        ordering = ["area__code", "type__sort_order", "name"]
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        constraints = [
            models.UniqueConstraint(
                fields=["uscc"], condition=~models.Q(uscc=""), name="organisation_uscc_unique"
            ),
            models.UniqueConstraint(fields=["name", "area"], name="organisation_name_area_unique"),
        ]

    def __str__(self):
        return self.name

    def clashes(self) -> dict:
        """Field errors for the unique rules another organisation already holds (name in the area, USCC).

        Django's own messages for these constraints name no field; the form, the service and the service's
        answer to a database refusal (two saves at once) use these instead.
        """
        others = Organisation.objects.exclude(pk=self.pk) if self.pk else Organisation.objects.all()
        errors = {}
        if self.area_id and others.filter(name=self.name, area_id=self.area_id).exists():
            errors["name"] = _("该区域已有同名单位 (an organisation of this name already exists in the area)")
        if self.uscc and others.filter(uscc=self.uscc).exists():
            errors["uscc"] = _("该统一社会信用代码已被其他单位使用 (the credit code is already in use)")
        return errors

    def clean(self):
        errors = {}
        if self.uscc:
            try:
                self.uscc = validate_uscc(self.uscc)
            except ValueError as exc:
                errors["uscc"] = str(exc)
        if self.parent_id and self.pk and self.parent_id == self.pk:
            errors["parent"] = _("上级单位不能是本单位 (an organisation cannot be its own parent)")
        if errors:
            raise ValidationError(errors)


class UserQuerySet(models.QuerySet):
    def visible_to(self, user, action="view"):
        from .access import user_scope

        return user_scope(self, user, action)


class ScopedUserManager(UserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True


class User(AbstractUser):
    """A person who logs in. What they may do comes only from their role assignments."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    is_system_actor = models.BooleanField(default=False, help_text="commands and tasks act as this user")

    objects = ScopedUserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.full_name or self.username

    def active_assignments(self):
        return self.role_assignments.current().select_related(
            "organisation", "organisation__type", "area", "area__parent"
        )

    @property
    def roles(self) -> set[str]:
        cached = getattr(self, "_roles_cache", None)
        if cached is None:
            cached = {a.role for a in self.active_assignments()}
            self._roles_cache = cached
        return cached


class RoleAssignmentQuerySet(models.QuerySet):
    def current(self):
        """Assignments in force today (the one definition of a *current* role)."""
        today = timezone.localdate()
        return self.filter(
            models.Q(valid_until__isnull=True) | models.Q(valid_until__gte=today), valid_from__lte=today
        )

    def visible_to(self, user, action="view"):
        from .access import role_assignment_scope

        return role_assignment_scope(self, user, action)


class RoleAssignment(models.Model):
    """A role held by a user for an organisation, over a jurisdiction (city, district or street)."""

    user = models.ForeignKey(User, models.CASCADE, related_name="role_assignments", verbose_name=_("用户"))
    role = models.CharField(_("角色"), max_length=30, choices=Role.choices)
    organisation = models.ForeignKey(
        Organisation, models.PROTECT, related_name="role_assignments", verbose_name=_("单位")
    )
    area = models.ForeignKey(
        Area, models.PROTECT, related_name="role_assignments", verbose_name=_("管辖范围")
    )
    may_read_sensitive = models.BooleanField(
        _("可查看敏感记录"), default=False, help_text=_("性侵害被害人、心理健康、封存记录等")
    )
    may_see_full_id = models.BooleanField(_("可查看完整证件号"), default=False)
    valid_from = models.DateField(_("生效日期"), default=timezone.localdate)
    valid_until = models.DateField(_("失效日期"), null=True, blank=True)
    granted_by = models.ForeignKey(User, models.PROTECT, null=True, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["user__username", "role"]
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "organisation", "area"], name="role_assignment_unique"
            )
        ]

    def __str__(self):
        return f"{self.get_role_display()} · {self.organisation} · {self.area}"


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True, expires__gt=timezone.now(), user__is_active=True)


class ApiToken(models.Model):
    """A per-user API key. Only a SHA-256 of the secret is stored; it expires and can be revoked."""

    PREFIX = "wb_"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=100)
    key_prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(_("到期时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    last_used = models.DateTimeField(_("最近使用"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self):
        return f"{self.name} ({self.key_prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def new_key(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires > timezone.now()
