"""The access matrix of rules and alerts: every persona, written out, checked via pages and the API.

There is no alert export (alerts are worked on in the system); the rules' YAML export is city-office only
and holds no person data.
"""

import pytest
from django.test import Client
from django.urls import reverse

from weibao.alerts.models import Rule
from weibao.alerts.testing import dv_alerts
from weibao.audit.models import AuditEvent
from weibao.lib.testing import PERSONAS, verify_second_factor

EVERYONE = {"a1", "a1_sensitive", "a2", "b1", "a2_police", "b1_police", "b1_edu"}
# persona → (alerts seen, alerts they may move on, may read rules, may manage rules)
MATRIX = {
    "city": (EVERYONE, set(), True, True),
    "district_a": ({"a1", "a2", "a2_police"}, {"a1", "a2", "a2_police"}, True, False),
    "worker_a1": ({"a1"}, {"a1"}, False, False),
    "lead_a1": ({"a1", "a1_sensitive"}, {"a1", "a1_sensitive"}, False, False),
    "worker_b1": ({"b1", "b1_police", "b1_edu"}, {"b1", "b1_police", "b1_edu"}, False, False),
    "police_a": (set(), set(), False, False),
    "prosecutor_a": (set(), set(), False, False),
    "court_a": (set(), set(), False, False),
    "edu_city": (set(), set(), False, False),
    "reporter": (set(), set(), False, False),
    "hr": (set(), set(), False, False),
    "sysadmin": (set(), set(), False, False),
    "secadmin": (set(), set(), False, False),
    "auditor": (set(), set(), False, False),
    "sysadmin_a": (set(), set(), False, False),
    "norole": (set(), set(), False, False),
}


def test_matrix_covers_every_persona():
    assert set(MATRIX) == set(PERSONAS)


@pytest.fixture
def alerts(world):
    return dv_alerts(world, EVERYONE)


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_alert_and_rule_access(world, alerts, persona):
    seen, movable, reads_rules, manages = MATRIX[persona]
    user = world.users[persona]
    client = Client()
    verify_second_factor(client, user)
    by_key = {key: alerts[world.persons[key].pk] for key in EVERYONE}

    # pages
    listing = client.get(reverse("alerts:alert_list"))
    if listing.status_code == 200:
        listed = {a.pk for a in listing.context["object_list"]}
    else:
        listed = set()
    assert listed == {by_key[k].pk for k in seen}
    for key, alert in by_key.items():
        detail = client.get(reverse("alerts:alert_detail", args=[alert.uuid]))
        assert detail.status_code == (200 if key in seen else 404), key
    assert AuditEvent.objects.filter(action="view", object_type="alerts.alert", actor=user).count() == len(
        seen
    )

    # API
    api = client.get("/api/alerts/alerts/")
    api_seen = {a["uuid"] for a in api.json()["results"]} if api.status_code == 200 else set()
    assert api_seen == {str(by_key[k].uuid) for k in seen}
    for key, alert in by_key.items():
        response = client.post(
            f"/api/alerts/alerts/{alert.uuid}/transition/",
            {"to_state": "acknowledged", "reason": "签收"},
            content_type="application/json",
        )
        assert response.status_code == (200 if key in movable else 404), (key, response.content)
    rules = client.get("/api/alerts/rules/")
    count = rules.json()["count"] if rules.status_code == 200 else 0
    assert (count > 0) == reads_rules
    assert client.get(reverse("alerts:rule_list")).status_code == (200 if reads_rules else 403)

    # rule management and the YAML export
    assert (client.get(reverse("alerts:rule_add")).status_code == 200) == manages
    assert (client.get(reverse("alerts:rules_export")).status_code == 200) == manages
    created = client.post(
        "/api/alerts/rules/",
        {
            "code": f"r_{persona}",
            "name": "测试",
            "definition": {"age": {"max": 3}},
            "level": "low",
            "deadline_hours": 5,
        },
        content_type="application/json",
    )
    assert created.status_code == (201 if manages else 403), created.content
    dv = Rule.objects.get(code="dv_repeated")
    retire = client.post(
        f"/api/alerts/rules/{dv.uuid}/retire/", {"reason": "测试"}, content_type="application/json"
    )
    assert retire.status_code == (200 if manages else 404)


def test_api_rule_errors_name_the_field(world):
    client = Client()
    verify_second_factor(client, world.users["city"])
    response = client.post(
        "/api/alerts/rules/",
        {"code": "bad", "name": "x", "definition": {"event_count": {"event_type": "nope"}}, "level": "low",
         "deadline_hours": 5},
        content_type="application/json",
    )  # fmt: skip
    body = response.json()
    assert response.status_code == 400 and "definition" in body["errors"]
    assert any("within_days" in m for m in body["errors"]["definition"])
    rule = Rule.objects.get(code="dv_repeated")
    dry = client.post(f"/api/alerts/rules/{rule.uuid}/dry-run/", {}, content_type="application/json")
    assert dry.status_code == 200 and dry.json() == {"count": 0, "sample": []}
    dry = client.post(
        f"/api/alerts/rules/{rule.uuid}/dry-run/",
        {"definition": {"age": {"min": 5}}},
        content_type="application/json",
    )
    assert dry.json()["count"] == 7 and all("*" in n or len(n) <= 2 for n in dry.json()["sample"])
    schema = client.get("/api/schema/").content.decode()
    assert "/api/alerts/rules/{uuid}/dry-run/" in schema and "/api/alerts/alerts/{uuid}/transition/" in schema
