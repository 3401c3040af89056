import pytest

from weibao.accounts.access import SEND
from weibao.audit.models import AuditEvent
from weibao.feeds import services
from weibao.feeds.models import Batch, Event, Feed, LandingRecord
from weibao.lib.testing import signed_in

from .helpers import bad_check, edu_feed, id_number, police_feed, record


def test_post_batch_is_idempotent_and_reports(world):
    edu_feed(world)
    client = signed_in(world.users["edu_city"])
    payload = {"idempotency_key": "b-1", "records": [record(1), record(2, id_number=bad_check(id_number(2)))]}
    response = client.post("/api/feeds/edu_absence/batches/", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["received"], body["accepted"], body["rejected"]) == (2, 1, 1)
    assert body["rejected_by_reason"] == {"id_number/check_char": 1}
    again = client.post("/api/feeds/edu_absence/batches/", payload, content_type="application/json")
    assert again.status_code == 200 and again.json()["uuid"] == body["uuid"]
    assert Event.objects.count() == 1 and LandingRecord.objects.count() == 2
    assert client.get(f"/api/feeds/batches/{body['uuid']}/").json()["accepted"] == 1
    assert [b["uuid"] for b in client.get("/api/feeds/edu_absence/batches/").json()] == [body["uuid"]]
    rejected = client.get("/api/feeds/landing-records/", {"feed": "edu_absence"}).json()["results"]
    assert len(rejected) == 1 and list(rejected[0]["errors"]) == ["id_number"]
    listed = AuditEvent.objects.filter(action="view_full_id", object_type="feeds.landingrecord").last()
    assert listed.extra["ids"] == [rejected[0]["id"]]  # which rows were shown, not only how many
    bad = client.get("/api/feeds/landing-records/", {"batch": "not-a-uuid"})
    assert bad.status_code == 400 and "batch" in bad.json()["errors"]
    fixed = client.post(
        f"/api/feeds/landing-records/{rejected[0]['id']}/fix/",
        {"fields": {"id_number": "1"}}, content_type="application/json",
    )  # fmt: skip
    assert fixed.status_code == 400 and "id_number" in fixed.json()["errors"]
    fixed = client.post(
        f"/api/feeds/landing-records/{rejected[0]['id']}/fix/",
        {"fields": {"id_number": id_number(2)}, "reason": "核对"}, content_type="application/json",
    )  # fmt: skip
    assert fixed.status_code == 200 and fixed.json()["status"] == "fixed"
    assert Event.objects.count() == 2


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"records": [record(1)]}, "idempotency_key"),
        ({"idempotency_key": "k"}, "records"),
        ({"idempotency_key": "k", "records": []}, "records"),
        ({"idempotency_key": "k", "records": "nope"}, "records"),
        ({"idempotency_key": "k", "records": [record(1), 5]}, "records"),
        ({"idempotency_key": "k" * 201, "records": [record(1)]}, "idempotency_key"),
    ],
)
def test_malformed_payloads_get_field_errors(world, payload, field):
    edu_feed(world)
    response = signed_in(world.users["edu_city"]).post(
        "/api/feeds/edu_absence/batches/", payload, content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and field in body["errors"]
    assert not Batch.objects.exists()


def test_more_than_ten_thousand_records_is_refused(world):
    edu_feed(world)
    payload = {"idempotency_key": "k", "records": [{"source_id": str(i)} for i in range(10_001)]}
    response = signed_in(world.users["edu_city"]).post(
        "/api/feeds/edu_absence/batches/", payload, content_type="application/json"
    )
    assert response.status_code == 413 and response.json()["detail"]
    assert not Batch.objects.exists()


def test_not_json_is_a_400(world):
    edu_feed(world)
    response = signed_in(world.users["edu_city"]).post(
        "/api/feeds/edu_absence/batches/", "{oops", content_type="application/json"
    )
    assert response.status_code == 400 and "detail" in response.json()


# Persona → which of (edu feed, police feed) it sees, and whether it may send to them.
FEED_MATRIX = {
    "city": ({"edu_absence", "police_dv"}, {"edu_absence", "police_dv"}),
    "sysadmin": ({"edu_absence", "police_dv"}, set()),
    "sysadmin_a": ({"police_dv"}, set()),  # the police of district A; the education unit is city-level
    "edu_city": ({"edu_absence"}, {"edu_absence"}),
    "police_a": ({"police_dv"}, {"police_dv"}),
    "prosecutor_a": (set(), set()),
    "court_a": (set(), set()),
    "district_a": (set(), set()),
    "worker_a1": (set(), set()),
    "reporter": (set(), set()),
    "auditor": (set(), set()),
    "norole": (set(), set()),
}


@pytest.mark.parametrize("persona", FEED_MATRIX)
def test_feed_access_matrix(world, persona):
    edu_feed(world)
    police_feed(world, code="police_dv")
    user = world.users[persona]
    sees, sends = FEED_MATRIX[persona]
    assert set(Feed.objects.visible_to(user).values_list("code", flat=True)) == sees
    assert set(Feed.objects.visible_to(user, SEND).values_list("code", flat=True)) == sends
    client = signed_in(user)
    listed = client.get("/api/feeds/feeds/")
    if listed.status_code == 200:
        assert {f["code"] for f in listed.json()["results"]} == sees
    for code in ("edu_absence", "police_dv"):
        response = client.post(
            f"/api/feeds/{code}/batches/", {"idempotency_key": persona, "records": [record(1)]},
            content_type="application/json",
        )  # fmt: skip
        assert (response.status_code in (200, 201)) == (code in sends), (code, response.status_code)
        if code not in sends:
            assert response.status_code in (403, 404)


def test_landing_records_only_for_senders(world):
    feed = edu_feed(world)
    services.ingest_records(feed, "k", [record(1, name="")], actor=world.users["edu_city"])
    assert LandingRecord.objects.visible_to(world.users["edu_city"], SEND).count() == 1
    assert LandingRecord.objects.visible_to(world.users["city"], SEND).count() == 1
    for persona in ("police_a", "sysadmin", "worker_a1", "norole"):
        assert LandingRecord.objects.visible_to(world.users[persona], SEND).count() == 0
        assert (
            signed_in(world.users[persona]).get("/api/feeds/landing-records/").json().get("results", []) == []
        )


# Events follow the person rule: a1 lives in street A1 (district A); the police sent it.
EVENT_MATRIX = {
    "city": True,
    "district_a": True,
    "worker_a1": True,
    "lead_a1": True,
    "worker_b1": False,
    "police_a": True,  # sent it
    "prosecutor_a": False,  # same district, but did not send it
    "edu_city": False,
    "sysadmin": False,
    "auditor": False,
    "norole": False,
}


@pytest.mark.parametrize("persona", EVENT_MATRIX)
def test_event_access_follows_the_person_rule(world, persona):
    from weibao.registry.services import add_document
    from weibao.registry.timeline import timeline

    person = world.persons["a1"]
    add_document(person, "mainland_id", id_number(5), actor=world.users["city"])
    services.ingest_records(police_feed(world), "k", [record(5)], actor=world.users["police_a"])
    event = Event.objects.get()
    user = world.users[persona]
    assert Event.objects.visible_to(user).filter(pk=event.pk).exists() is EVENT_MATRIX[persona]
    assert any(e.kind == "event" for e in timeline(person, user)) is EVENT_MATRIX[persona]


def test_department_sees_persons_it_sent(world):
    from weibao.registry.models import Person

    services.ingest_records(
        police_feed(world), "k", [record(8, street="310101013")], actor=world.users["police_a"]
    )
    person = Event.objects.get().person
    assert Person.objects.visible_to(world.users["police_a"]).filter(pk=person.pk).exists()
    assert not Person.objects.visible_to(world.users["prosecutor_a"]).filter(pk=person.pk).exists()
    assert (
        not Person.objects.visible_to(world.users["worker_a1"]).filter(pk=person.pk).exists()
    )  # lives in A2


def test_register_feed_service_checks_scope_and_catalogue(world):
    from django.core.exceptions import PermissionDenied, ValidationError

    from weibao.feeds.models import EventType

    dv = EventType.objects.get(code="police_dv_callout")
    feed = services.save_feed(
        Feed(code="dv2", name="警情", owner=world.orgs["police_a"], carries="events", event_type=dv),
        actor=world.users["sysadmin_a"],
    )
    assert feed.pk
    with pytest.raises(ValidationError):
        services.save_feed(
            Feed(code="dv3", name="警情", owner=world.orgs["edu"], carries="events", event_type=dv),
            actor=world.users["city"],
        )
    with pytest.raises(PermissionDenied):
        services.save_feed(
            Feed(code="dv4", name="警情", owner=world.orgs["edu"], carries="persons"),
            actor=world.users["sysadmin_a"],
        )
    with pytest.raises(PermissionDenied):
        services.save_feed(
            Feed(code="dv5", name="警情", owner=world.orgs["police_a"], carries="persons"),
            actor=world.users["police_a"],
        )
