"""Authentication events go to the audit trail (the auth framework only offers signals for these)."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from weibao.audit.models import AuditAction
from weibao.audit.services import record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record(user, AuditAction.LOGIN, user)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(user, AuditAction.LOGOUT, user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    record(
        None,
        AuditAction.LOGIN_FAILED,
        object_type="accounts.user",
        object_repr=str(credentials.get("username", ""))[:150],
        username=str(credentials.get("username", ""))[:150],
    )


@receiver(user_locked_out)
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    record(
        None,
        AuditAction.LOCKED_OUT,
        object_type="accounts.user",
        object_repr=str(username or "")[:150],
        username=str(username or "")[:150],
    )
