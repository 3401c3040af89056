"""Fixtures of the feeds tests: valid ID numbers, feeds owned by the test personas' organisations."""

import datetime

from weibao.accounts.models import Organisation
from weibao.feeds.models import EventType, Feed
from weibao.lib.checksums import id_check_char
from weibao.lib.testing import A1, A2, B1, org


def id_number(serial: int, born: str = "20150601", area: str = "310101") -> str:
    first17 = f"{area}{born}{serial % 1000:03d}"
    return first17 + id_check_char(first17)


def bad_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def record(serial: int, **overrides) -> dict:
    values = {
        "source_id": f"S{serial}",
        "id_number": id_number(serial),
        "name": "张三",
        "sex": "女",
        "birth_date": "2015-06-01",
        "street": A1,
        "occurred_on": "2025-03-01",
        "days": "5",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def police_feed(world, code="police_absence") -> Feed:
    """An event feed of the police persona's organisation (police may send domestic-violence call-outs)."""
    return Feed.objects.create(
        code=code, name="家暴警情", owner=world.orgs["police_a"], carries="events",
        event_type=EventType.objects.get(code="police_dv_callout"),
    )  # fmt: skip


def school_feed(code="school_absence") -> Feed:
    school = org("school", A1)
    return Feed.objects.create(
        code=code,
        name="缺课",
        owner=school,
        carries="events",
        event_type=EventType.objects.get(code="edu_absence"),
    )


def edu_feed(world, code="edu_absence") -> Feed:
    """An absence feed of the education persona's organisation (a member unit, allowed by name here)."""
    event_type = EventType.objects.get(code="edu_absence")
    event_type.organisations.add(world.orgs["edu"])
    return Feed.objects.create(
        code=code, name="缺课", owner=world.orgs["edu"], carries="events", event_type=event_type
    )


def person_feed(owner: Organisation, code="persons") -> Feed:
    return Feed.objects.create(code=code, name="人员", owner=owner, carries="persons")


TODAY = datetime.date(2025, 6, 1)
STREETS = (A1, A2, B1)
