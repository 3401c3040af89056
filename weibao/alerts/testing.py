"""Fixtures of the alerts tests: events written straight to the tables, a random population with events."""

import datetime
import random

from weibao.accounts.models import Organisation
from weibao.feeds.models import Batch, Event, EventType, Feed, SourceRecord
from weibao.lib.testing import A1, A2, B1, CITY, area, org
from weibao.registry.models import Category, Guardianship, Person, PersonCategory

_serial = iter(range(1, 10**9))


def feed_for(code: str, owner: Organisation | None = None) -> Feed:
    event_type = EventType.objects.get(code=code)
    owner = owner or org("committee_office", CITY)
    feed, _ = Feed.objects.get_or_create(
        code=f"t_{code}",
        defaults={"name": code, "owner": owner, "carries": "events", "event_type": event_type},
    )
    return feed


def add_event(person: Person, code: str, on: datetime.date, batch: Batch | None = None) -> Event:
    feed = batch.feed if batch else feed_for(code)
    if batch is None:
        batch, _ = Batch.objects.get_or_create(feed=feed, idempotency_key="t", defaults={"source": "api"})
    n = next(_serial)
    source = SourceRecord.objects.create(
        feed=feed, source_id=f"s{n}", content_hash="x", person=person, batch=batch, row_number=n
    )
    return Event.objects.create(
        person=person,
        event_type=feed.event_type,
        occurred_on=on,
        source_organisation=feed.owner,
        feed=feed,
        source_record=source,
    )


CODES = [
    "police_dv_callout", "health_suspicious_injury", "edu_absence", "health_self_harm", "edu_psych_crisis",
    "justice_guardian_imprisoned", "police_missing_child", "edu_enrolment", "civil_guardian_deceased",
]  # fmt: skip


def population(seed: int, persons: int, events: int, today: datetime.date) -> list[Person]:
    """Random minors (some guardians and categories) with random events over the last two years."""
    rnd = random.Random(seed)
    streets = [area(c) for c in (A1, A2, B1)]
    people = [
        Person.objects.create(
            name=f"儿童{i}",
            birth_date=today - datetime.timedelta(days=rnd.randint(0, 19 * 365)),
            street=rnd.choice(streets),
        )
        for i in range(persons)
    ]
    adult = Person.objects.create(name="监护人", kind="adult")
    category = Category.objects.order_by("pk").first()
    for p in people:
        for _ in range(rnd.choice([0, 1, 1, 2])):
            Guardianship.objects.create(minor=p, guardian=adult, relation="father", since=None)
            adult = Person.objects.create(name="监护人", kind="adult")
        if category and rnd.random() < 0.2:
            PersonCategory.objects.create(person=p, category=category)
    for _ in range(events):
        add_event(rnd.choice(people), rnd.choice(CODES), today - datetime.timedelta(days=rnd.randint(0, 730)))
    return people


def dv_alerts(world, keys) -> dict:
    """The starter rule ``dv_repeated`` alone, fired for each of ``keys`` (persons of the test world) by two
    domestic-violence call-outs in the last two days: ``{person id: alert}``."""
    from django.utils import timezone

    from weibao.alerts import engine
    from weibao.alerts.choices import RuleStatus
    from weibao.alerts.models import Alert, Rule

    Rule.objects.exclude(code="dv_repeated").update(status=RuleStatus.DRAFT)
    today = timezone.localdate()
    for key in keys:
        for days in (1, 2):
            add_event(world.persons[key], "police_dv_callout", today - datetime.timedelta(days=days))
    engine.screen()
    return {a.person_id: a for a in Alert.objects.filter(person__in=[world.persons[k] for k in keys])}
