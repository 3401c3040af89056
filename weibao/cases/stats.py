"""Caseload figures for the district and city views (and the workstation's own), from scoped querysets."""

import datetime
from collections import defaultdict

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from weibao.accounts.choices import Role

from .choices import RiskLevel, State
from .models import CaseTransition

AGE_BUCKETS = [
    (7, gettext_lazy("≤7天")),
    (30, gettext_lazy("8–30天")),
    (90, gettext_lazy("31–90天")),
    (180, gettext_lazy("91–180天")),
    (None, gettext_lazy(">180天")),
]


def caseload_stats(cases, user) -> dict:
    now = timezone.now()
    open_cases = cases.exclude(state=State.CLOSED)
    roles = user.roles
    if Role.CITY_OFFICE in roles:
        by_area = open_cases.values_list("street__parent__name").annotate(n=Count("id")).order_by("-n")
        area_label = pgettext_lazy("caseload chart: open cases by …", "区")
    else:
        by_area = open_cases.values_list("street__name").annotate(n=Count("id")).order_by("-n")
        area_label = pgettext_lazy("caseload chart: open cases by …", "街镇")
    by_state = dict(open_cases.values_list("state").annotate(n=Count("id")))
    by_risk = dict(open_cases.values_list("risk_level").annotate(n=Count("id")))
    ages = [0] * len(AGE_BUCKETS)
    for opened in open_cases.values_list("opened_at", flat=True):
        days = (now - opened).days
        for i, (limit, _label) in enumerate(AGE_BUCKETS):
            if limit is None or days <= limit:
                ages[i] += 1
                break
    return {
        "open_count": open_cases.count(),
        "closed_count": cases.filter(state=State.CLOSED).count(),
        "overdue_count": open_cases.filter(state_due__lt=now).count(),
        "area_label": str(area_label),
        "by_area": [[name or "—", n] for name, n in by_area],
        "by_state": [[State(s).label, by_state.get(s, 0)] for s in State.values if s != State.CLOSED],
        "by_risk": [[RiskLevel(r).label, by_risk.get(r, 0)] for r in RiskLevel.values],
        "ages": [[str(label), n] for (_limit, label), n in zip(AGE_BUCKETS, ages, strict=True)],
        "time_in_state": time_in_state(cases, now),
    }


def caseload_context(cases, user) -> dict:
    from django.utils.translation import gettext as _

    stats = caseload_stats(cases, user)
    stats["charts"] = [
        (_("在办个案（按%(a)s）") % {"a": stats["area_label"]}, stats["by_area"], "by-area"),
        (_("在办个案（按状态）"), stats["by_state"], "by-state"),
        (_("在办个案（按风险）"), stats["by_risk"], "by-risk"),
        (_("在办个案已开案天数"), stats["ages"], "ages"),
        (_("各环节平均停留天数"), stats["time_in_state"], "time-in-state"),
    ]
    return stats


def time_in_state(cases, now) -> list:
    """Average days a case spent in each state (finished stays and the current one), over the cases given."""
    totals, counts = defaultdict(datetime.timedelta), defaultdict(int)
    last = {}
    transitions = CaseTransition.objects.filter(case__in=cases).order_by("case_id", "at", "pk")
    for case_id, to_state, at in transitions.values_list("case_id", "to_state", "at"):
        if case_id in last:
            state, since = last[case_id]
            totals[state] += at - since
            counts[state] += 1
        last[case_id] = (to_state, at)
    for state, since in last.values():
        if state != State.CLOSED:
            totals[state] += now - since
            counts[state] += 1
    return [
        [State(s).label, round(totals[s].total_seconds() / 86400 / counts[s], 1) if counts[s] else 0]
        for s in State.values
        if s != State.CLOSED
    ]
