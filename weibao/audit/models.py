"""The audit trail: append-only events, each carrying an HMAC over its content and the previous event's hash."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login_failed", _("登录失败")
    LOGOUT = "logout", _("退出")
    LOCKED_OUT = "locked_out", _("账户锁定")
    UNLOCK = "unlock", _("解除锁定")
    SECOND_FACTOR = "second_factor", _("二次验证")
    SECOND_FACTOR_FAILED = "second_factor_failed", _("二次验证失败")
    VIEW = "view", _("查看")
    VIEW_FULL_ID = "view_full_id", _("查看完整证件号")
    SEARCH = "search", _("查询")
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    IMPORT = "import", _("导入")
    EXPORT = "export", _("导出")
    ROLE_GRANT = "role_grant", _("授予角色")
    ROLE_REVOKE = "role_revoke", _("撤销角色")
    TOKEN_CREATE = "token_create", _("创建令牌")
    TOKEN_REVOKE = "token_revoke", _("吊销令牌")
    TOKEN_USE = "token_use", _("使用令牌")
    DENIED = "denied", _("拒绝访问")
    MERGE = "merge", _("合并人员")
    SPLIT = "split", _("拆分人员")
    REVIEW = "review", _("匹配复核")


class AuditEventQuerySet(models.QuerySet):
    def visible_to(self, user, action="view"):
        from weibao.accounts.access import audit_scope

        return audit_scope(self, user, action)


class AuditEvent(models.Model):
    """One thing that happened. Never updated or deleted: database triggers refuse it."""

    seq = models.BigIntegerField(_("序号"), unique=True)
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(_("操作人"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    action = models.CharField(_("操作"), max_length=30, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=60, blank=True, db_index=True)
    object_id = models.CharField(_("对象标识"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    changes = models.JSONField(_("变更"), default=dict, blank=True)
    reason = models.CharField(_("事由"), max_length=500, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """A single row holding the last sequence number and hash; locking it serialises appends."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit head #{self.seq}"
