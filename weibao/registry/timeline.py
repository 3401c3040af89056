"""One timeline per person, fed by every app that knows something dated about them.

An app registers a *source*: a function ``(person, user) -> iterable of TimelineEntry``, reading through
its own scoped querysets. Feeds register events; reports, alerts and cases register theirs as they land.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_sources: list[Callable] = []


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime.date | datetime.datetime
    kind: str  # e.g. "event", "report", "alert", "case"
    title: str
    source: str  # the organisation or channel it came from
    detail: str = ""
    url: str = ""

    @property
    def sort_key(self) -> datetime.datetime:
        when = self.when
        if not isinstance(when, datetime.datetime):
            when = datetime.datetime.combine(when, datetime.time.min)
        return when.replace(tzinfo=None)


def register(source: Callable[..., Iterable[TimelineEntry]]) -> Callable:
    if source not in _sources:
        _sources.append(source)
    return source


def timeline(person, user, limit: int = 500) -> list[TimelineEntry]:
    entries = [entry for source in _sources for entry in source(person, user)]
    return sorted(entries, key=lambda e: e.sort_key, reverse=True)[:limit]
