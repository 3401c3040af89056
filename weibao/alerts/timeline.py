"""Alerts on the one-page-per-child timeline, read through ``Alert.objects.visible_to``."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.registry.timeline import TimelineEntry

from .models import Alert


def alerts_timeline(person, user):
    alerts = Alert.objects.visible_to(user).filter(person=person).select_related("rule_version__level")
    for alert in alerts[:100]:
        yield TimelineEntry(
            when=timezone.localdate(alert.fired_at),
            kind="alert",
            title=_("预警：%(name)s") % {"name": alert.rule_version.name},
            source=f"{alert.rule_version.level} · {alert.get_state_display()}",
            detail=alert.get_outcome_display() if alert.outcome else "",
            url=reverse("alerts:alert_detail", args=[alert.uuid]),
        )
