"""Writes of the accounts app. Each validates, writes, audits in one transaction, taking ``actor=``."""

import datetime

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.audit.models import AuditAction
from weibao.audit.services import record, snapshot

from . import access
from .access import ROLE_JURISDICTION_LEVEL, SEPARATED_ADMIN_ROLES
from .choices import AreaLevel
from .models import ApiToken, Organisation, RoleAssignment, User

USER_FIELDS = ["username", "full_name", "email", "phone", "is_active"]


def _require(queryset, obj, message):
    if not queryset.filter(pk=obj.pk).exists():
        raise PermissionDenied(message)


@transaction.atomic
def save_organisation(organisation: Organisation, *, actor, reason: str = "") -> Organisation:
    """Create or update an organisation inside the actor's administrative scope."""
    creating = organisation.pk is None
    before = None
    if not creating:
        _require(Organisation.objects.visible_to(actor, access.CHANGE), organisation, _("无权修改该单位"))
        before = snapshot(Organisation.objects.get(pk=organisation.pk), Organisation.EDITABLE_FIELDS)
    organisation.full_clean(validate_constraints=False)  # the unique rules: below, naming the field
    if clashes := organisation.clashes():
        raise ValidationError(clashes)
    try:
        with transaction.atomic():  # a double submit passes the check above twice: the constraint decides
            organisation.save()
    except IntegrityError:
        raise ValidationError(
            organisation.clashes() or {"name": _("该单位已存在 (the organisation already exists)")}
        ) from None
    _require(
        Organisation.objects.visible_to(actor, access.CHANGE), organisation, _("该单位不在您的管理范围内")
    )
    record(
        actor,
        AuditAction.CREATE if creating else AuditAction.UPDATE,
        organisation,
        before=before or {},
        after=snapshot(organisation, Organisation.EDITABLE_FIELDS),
        reason=reason,
    )
    return organisation


@transaction.atomic
def save_user(user: User, *, actor, password: str | None = None) -> User:
    """Create or update an account (system administrators only, within their scope)."""
    creating = user.pk is None
    if not access.has_role(actor, access.Role.SYSTEM_ADMIN):
        raise PermissionDenied(_("只有系统管理员可以管理账户"))
    before = {}
    if not creating:
        _require(User.objects.visible_to(actor, access.CHANGE), user, _("该账户不在您的管理范围内"))
        before = snapshot(User.objects.get(pk=user.pk), USER_FIELDS)
    if password:
        validate_password(password, user)
        user.set_password(password)
    elif creating:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    try:
        with transaction.atomic():  # a double submit passes full_clean's uniqueness check twice
            user.save()
    except IntegrityError:
        raise ValidationError({"username": _("该用户名已被使用 (the username is already taken)")}) from None
    after = snapshot(user, USER_FIELDS)
    if password:
        before.setdefault("password", None)
        after["password"] = "changed"
    record(actor, AuditAction.CREATE if creating else AuditAction.UPDATE, user, before=before, after=after)
    return user


def check_assignment(assignment: RoleAssignment) -> None:
    """Structural rules of a role assignment, whoever grants it; raises ``ValidationError`` per field."""
    errors = {}
    level = ROLE_JURISDICTION_LEVEL.get(assignment.role)
    if level and assignment.area.level != level:
        errors["area"] = _("角色“%(role)s”的管辖范围必须是%(level)s级") % {
            "role": assignment.get_role_display(),
            "level": AreaLevel(level).label,
        }
    if not assignment.organisation.area.contains(assignment.area):
        errors["area"] = _("管辖范围必须在所属单位“%(org)s”的区域之内") % {"org": assignment.organisation}
    if assignment.role in SEPARATED_ADMIN_ROLES:
        held = set(
            RoleAssignment.objects.filter(user=assignment.user, role__in=SEPARATED_ADMIN_ROLES)
            .exclude(pk=assignment.pk)
            .exclude(role=assignment.role)
            .values_list("role", flat=True)
        )
        if held:
            errors["role"] = _(
                "三员分立：系统管理员、安全管理员、审计管理员不得由同一人兼任（该用户已是%(held)s）"
            ) % {"held": "、".join(str(access.Role(r).label) for r in sorted(held))}
    if assignment.valid_until and assignment.valid_until < assignment.valid_from:
        errors["valid_until"] = _("失效日期不能早于生效日期")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def grant_role(assignment: RoleAssignment, *, actor, reason: str = "") -> RoleAssignment:
    """Give a role (security administrators, never to themselves)."""
    if assignment.user_id == actor.pk:
        raise PermissionDenied(_("不能给自己授予角色"))
    if not access.may_grant(actor, assignment.area, assignment.role):
        raise PermissionDenied(_("无权在该范围授予此角色"))
    # Serialise grants to one user so that two concurrent grants cannot both pass the 三员分立 check.
    User.objects.select_for_update().filter(pk=assignment.user_id).first()
    check_assignment(assignment)
    assignment.granted_by = actor
    assignment.full_clean(exclude=["granted_by", "user"])
    assignment.save()
    record(
        actor,
        AuditAction.ROLE_GRANT,
        assignment.user,
        object_repr=str(assignment.user),
        after={
            "role": assignment.role,
            "organisation": str(assignment.organisation),
            "area": str(assignment.area),
            "may_read_sensitive": assignment.may_read_sensitive,
            "may_see_full_id": assignment.may_see_full_id,
        },
        reason=reason,
    )
    return assignment


@transaction.atomic
def revoke_role(assignment: RoleAssignment, *, actor, reason: str = "") -> None:
    _require(RoleAssignment.objects.visible_to(actor, access.CHANGE), assignment, _("无权撤销该角色"))
    if assignment.user_id == actor.pk:
        raise PermissionDenied(_("不能撤销自己的角色"))
    record(
        actor,
        AuditAction.ROLE_REVOKE,
        assignment.user,
        object_repr=str(assignment.user),
        before={
            "role": assignment.role,
            "organisation": str(assignment.organisation),
            "area": str(assignment.area),
        },
        reason=reason,
    )
    assignment.delete()


@transaction.atomic
def create_token(*, actor, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """Issue an API token to the actor; the plain key is returned once and never stored."""
    if not access.may_manage_tokens(actor):
        raise PermissionDenied(_("没有任何角色的账户不能生成 API 令牌"))
    if not name.strip():
        raise ValidationError({"name": _("请填写令牌用途")})
    days = days or settings.API_TOKEN_DAYS
    if not 1 <= days <= settings.API_TOKEN_DAYS:
        raise ValidationError(
            {"days": _("有效期须在 1 至 %(max)d 天之间") % {"max": settings.API_TOKEN_DAYS}}
        )
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=actor,
        name=name.strip(),
        key_prefix=key[:10],
        key_hash=ApiToken.hash_key(key),
        expires=timezone.now() + datetime.timedelta(days=days),
    )
    record(
        actor,
        AuditAction.TOKEN_CREATE,
        token,
        after={"name": token.name, "expires": token.expires.isoformat()},
    )
    return token, key


@transaction.atomic
def revoke_token(token: ApiToken, *, actor) -> None:
    if token.user_id != actor.pk and not access.has_role(actor, access.Role.SECURITY_ADMIN):
        raise PermissionDenied(_("无权吊销该令牌"))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(actor, AuditAction.TOKEN_REVOKE, token)


def _check_security_action(actor, user: User, reason: str) -> None:
    """Unlocking and second-factor resets: security administrators, accounts in their scope, with a reason."""
    if not access.can_grant_roles(actor) or not User.objects.visible_to(actor).filter(pk=user.pk).exists():
        raise PermissionDenied(_("只有安全管理员可以对其管理范围内的账户执行此操作"))
    if not reason.strip():
        raise ValidationError({"reason": _("请填写事由")})


def is_locked_out(user: User) -> bool:
    from axes.models import AccessAttempt

    return AccessAttempt.objects.filter(
        username=user.username, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    ).exists()


@transaction.atomic
def unlock_user(user: User, *, actor, reason: str) -> int:
    """Clear a login lockout (security administrators, for accounts in their scope)."""
    from axes.utils import reset

    _check_security_action(actor, user, reason)
    cleared = reset(username=user.username)
    record(actor, AuditAction.UNLOCK, user, reason=reason, extra={"attempts_cleared": cleared})
    return cleared


@transaction.atomic
def reset_second_factor(user: User, *, actor, reason: str) -> int:
    """Remove a user's TOTP devices (lost phone); they enrol again at their next login."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _check_security_action(actor, user, reason)
    removed, _details = TOTPDevice.objects.filter(user=user).delete()
    record(
        actor,
        AuditAction.SECOND_FACTOR,
        user,
        reason=reason,
        extra={"reset": True, "devices_removed": removed},
    )
    return removed


def system_actor(username: str = "system", full_name: str = "系统（后台任务）") -> User:
    """The named account under which commands and background tasks act (audited like anyone else; no
    password: nobody signs in as it)."""
    user, _created = User.objects.get_or_create(
        username=username, defaults={"is_system_actor": True, "full_name": full_name}
    )
    if _created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
