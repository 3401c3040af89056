"""The overdue-alert checker, run by ``manage.py check_deadlines`` with every other app's checkers."""

from weibao.notifications.deadlines import register

from .services import escalate_overdue


@register("alerts")
def alerts_overdue(now) -> int:
    return escalate_overdue(now)
