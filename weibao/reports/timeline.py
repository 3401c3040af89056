"""Reports on the one-page-per-child timeline, read through ``Report.objects.visible_to``."""

from django.urls import reverse

from weibao.accounts.access import may_see_reporter_identity
from weibao.registry.timeline import TimelineEntry

from .models import Report


def reports_timeline(person, user):
    rows = (
        Report.objects.visible_to(user)
        .filter(person=person)
        .select_related("reporter_org", "partner")
        .order_by("-created")[:100]
    )
    for report in rows:
        source = (
            report.get_channel_display()
        )  # the reporting unit is reporter identity: only for those allowed
        if report.reporter_org_id and may_see_reporter_identity(user, report):
            source = report.reporter_org.name
        yield TimelineEntry(
            when=report.created,
            kind="report",
            title=f"{report.number} · {report.get_situation_display()}",
            source=source,
            detail=report.get_status_display(),
            url=reverse("reports:detail", args=[report.uuid]),
        )
