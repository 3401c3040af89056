"""The reports checker of ``manage.py check_deadlines``: overdue steps escalate once to the district office."""

from weibao.notifications import deadlines

from .services import escalate_overdue


@deadlines.register("reports")
def check_reports(now) -> int:
    return escalate_overdue(now)
