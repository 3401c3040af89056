"""Demo casework for ``seed_demo``: department events, mandatory reports, alerts and a case in the demo street,
so that every page of the demo has something to show. Everything goes through the apps' own services: the
events are delivered as feed batches (landing, validation, the person marked sensitive by a sensitive event,
the batch report), the reports through intake and routing, then screening, the case workflow and the audit.
"""

import datetime
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from weibao.accounts.models import User
from weibao.feeds import services as feeds
from weibao.feeds.models import EventType, Feed
from weibao.lib.crypto import decrypt
from weibao.registry.models import Person

# (event type, sending organisation key in seed_demo's places, days ago for each event) per demo child
DEMO_EVENTS = (
    (("police_dv_callout", "police", (200, 45, 9)),),
    (("health_suspicious_injury", "edu", (150, 70, 20)),),
    (("health_self_harm", "edu", (30,)), ("edu_absence", "edu", (25, 18, 11))),
    (("edu_psych_crisis", "edu", (60,)), ("police_dv_callout", "police", (40,))),
    (("police_missing_child", "police", (100, 14)),),
)
EVENT_FIELDS = {"edu_absence": {"days": "5"}}  # the event types' required fields
DEMO_REPORTS = (
    ("abuse_injury", "孩子左臂和后背有多处淤青，自述被继父用皮带抽打。", "step_parent", True),
    ("abandoned", "孩子连续多日独自在家，无人做饭，上课常饿着肚子。", "parent", False),
)


def _record(person, code: str, on: datetime.date, serial: int) -> dict:
    """The feed record a department would send about ``person``: its ID number (decrypted from the registry),
    name, sex, birth date, street and the event's date and fields."""
    document = person.documents.order_by("pk").first()
    return {
        "source_id": f"demo-{serial}",
        "id_type": document.type if document else "",
        "id_number": decrypt(bytes(document.number_encrypted)) if document else "",
        "name": person.name,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "street": person.street.code if person.street_id else "",
        "occurred_on": on.isoformat(),
        **EVENT_FIELDS.get(code, {}),
    }


def _deliver(records: dict, places) -> int:
    """One feed per event type and sender, one batch each, through the feed pipeline; the events stored."""
    from weibao.feeds.services import feeds_actor

    actor = feeds_actor()  # as ``manage.py ingest`` sends files
    events = 0
    for (code, sender), rows in records.items():
        event_type = EventType.objects.get(code=code)
        feed, _ = Feed.objects.get_or_create(
            code=f"demo_{code}",
            defaults={
                "name": f"{event_type.name}（演示）",
                "owner": places[sender],
                "carries": "events",
                "event_type": event_type,
            },
        )
        batch, _ = feeds.ingest_records(feed, "seed_demo", rows, actor=actor)
        events += batch.accepted
    return events


@transaction.atomic
def seed_casework(places, today: datetime.date) -> dict:
    from weibao.alerts import engine
    from weibao.alerts.models import Alert
    from weibao.cases import services as cases
    from weibao.reports import services as reports
    from weibao.reports.models import Report

    street = places["street"]
    wanted = len(DEMO_EVENTS) + len(DEMO_REPORTS)
    children = list(
        Person.objects.filter(kind="minor", street=street, sensitivity="normal").order_by("pk")[:wanted]
    )
    # the demo street's first children get department events (and so alerts), the next two are reported
    watched, reported = children[: len(DEMO_EVENTS)], children[len(DEMO_EVENTS) :]
    records, serial = defaultdict(list), 1
    for child, plan in zip(watched, DEMO_EVENTS, strict=False):
        for code, sender, days in plan:
            for ago in days:
                records[code, sender].append(
                    _record(child, code, today - datetime.timedelta(days=ago), serial)
                )
                serial += 1
    events = _deliver(records, places)
    engine.screen()
    users = {
        u.username: u for u in User.objects.filter(username__in=["reporter", "police", "worker", "lead"])
    }
    reporter = users["reporter"]
    filed = [
        reports.create_report(
            Report(
                channel="staff",
                situation=situation,
                description=text,
                suspect_relation=relation,
                immediate_danger=danger,
                minor_name=child.name,
                minor_sex=child.sex,
                minor_birth_date=child.birth_date,
                minor_street=street,
                reporter_user=reporter,
                reporter_org=reporter.active_assignments()[0].organisation,
                reporter_name=reporter.full_name,
                occurred_at=timezone.now() - datetime.timedelta(days=2),
            ),
            actor=reporter,
        )
        for child, (situation, text, relation, danger) in zip(reported, DEMO_REPORTS, strict=False)
    ]
    counts = {"events": events, "reports": len(filed), "alerts": Alert.objects.count(), "cases": 0}
    if not filed:
        return counts
    first = reports.acknowledge(filed[0], actor=users["police"])
    first = reports.decide(first, actor=users["police"], decision="opened", case_number="A3101012026110001")
    reports.link_to_person(first, reported[0], actor=users["lead"])
    cases.open_case(
        users["lead"],
        persons=[reported[0]],
        workstation=places["workstation"],
        case_type="victim",
        risk_level="high",
        priority="urgent",
        origin="report",
        report=Report.objects.get(pk=first.pk),
        reason="演示：强制报告核实后立案",
        workers=[users["worker"]],
    )
    return counts | {"cases": 1}
