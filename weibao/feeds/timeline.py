"""Events on the one-page-per-child timeline, read through ``Event.objects.visible_to``."""

from weibao.registry.timeline import TimelineEntry

from .models import Event


def events_timeline(person, user):
    events = (
        Event.objects.visible_to(user)
        .filter(person=person)
        .select_related("event_type", "source_organisation")
        .order_by("-occurred_on")[:300]
    )
    for event in events:
        labels = {k: v.get("label", k) for k, v in (event.event_type.fields or {}).items()}
        detail = "；".join(
            f"{labels.get(k, k)}：{v}" for k, v in (event.data or {}).items() if v not in (None, "")
        )
        yield TimelineEntry(
            when=event.occurred_on,
            kind="event",
            title=str(event.event_type),
            source=event.source_organisation.name,
            detail=detail,
        )
