"""Reporting as a figure: per organisation type and district, reports filed, median time to the police
decision and the share decided within the deadline; and the bodies in contact with minors that never reported."""

import statistics
from collections import defaultdict

from django.db.models import Q
from django.utils.translation import gettext as _

from weibao.accounts.choices import AreaLevel, Role
from weibao.accounts.models import Organisation

from .models import Report


def by_type_and_district(reports) -> list[dict]:
    rows = reports.values_list(
        "reporter_org__type__name", "channel", "district__name", "created", "decided_at", "decision_due"
    )
    groups = defaultdict(list)
    for type_name, channel, district, created, decided, due in rows.iterator():
        label = type_name or (_("公众网页") if channel == "public" else _("合作渠道"))
        groups[(label, district or _("未确定"))].append((created, decided, due))
    table = []
    for (label, district), items in sorted(groups.items()):
        decided = [(c, d, due) for c, d, due in items if d]
        hours = [(d - c).total_seconds() / 3600 for c, d, _due in decided]
        in_time = [1 for _c, d, due in decided if due is None or d <= due]
        table.append(
            {
                "type": label,
                "district": district,
                "filed": len(items),
                "decided": len(decided),
                "median_hours": round(statistics.median(hours), 1) if hours else None,
                "in_time_share": round(100 * len(in_time) / len(decided)) if decided else None,
            }
        )
    return table


def chart_rows(table) -> list[list]:
    totals = defaultdict(int)
    for row in table:
        totals[row["type"]] += row["filed"]
    return sorted(([k, v] for k, v in totals.items()), key=lambda r: -r[1])


def silent_bodies(user) -> list[Organisation]:
    """Active organisations of mandated-reporter types in the user's area that never filed a report."""
    areas = [a.area for a in user.active_assignments() if a.role in (Role.CITY_OFFICE, Role.DISTRICT_OFFICE)]
    if not areas:
        return []
    qs = Organisation.objects.filter(type__is_mandated_reporter=True, is_active=True)
    if not any(a.level == AreaLevel.CITY for a in areas):
        where = Q()
        for area in areas:
            where |= Q(area=area) | Q(area__parent=area)
        qs = qs.filter(where)
    reported = Report.objects.filter(reporter_org__isnull=False).values("reporter_org_id")
    return list(
        qs.exclude(pk__in=reported)
        .select_related("type", "area", "area__parent")
        .order_by("area__code", "name")
    )
