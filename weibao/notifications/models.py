"""In-application notifications: one row per recipient user, read or not."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from weibao.accounts import access


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user, action: str = "view"):
        return access.notification_scope(self, user, action)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("接收人"),
    )
    kind = models.CharField(_("类型"), max_length=40, help_text=_("e.g. report_routed, alert_overdue"))
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    url = models.CharField(_("链接"), max_length=300, blank=True)
    escalation = models.BooleanField(_("超时升级"), default=False)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"])]
        verbose_name = _("通知")
        verbose_name_plural = _("通知")

    def __str__(self):
        return self.subject
