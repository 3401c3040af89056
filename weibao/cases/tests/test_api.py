"""The case API end to end, and ugly input: clear field errors, never a 500."""

import datetime

import pytest
from django.test import Client

from weibao.cases import services
from weibao.cases.models import Case, Instrument
from weibao.lib.testing import org, verify_second_factor


@pytest.fixture
def api(world):
    client = Client()
    verify_second_factor(client, world.users["worker_a1"])
    return client


def test_open_work_and_close_through_the_api(world, api):
    body = {
        "persons": [str(world.persons["a1"].uuid)],
        "workstation": str(org("workstation", "310101002").uuid),
        "case_type": "victim",
        "risk_level": "critical",
        "priority": "urgent",
        "origin": "alert",
        "origin_reference": "YJ2026-000007",
        "reason": "预警转入",
    }
    response = api.post("/api/cases/cases/", body, content_type="application/json")
    assert response.status_code == 201, response.content
    uuid = response.json()["uuid"]
    case = Case.objects.get(uuid=uuid)
    response = api.post(
        "/api/cases/notes/", {"case": uuid, "kind": "visit", "text": "走访"}, content_type="application/json"
    )
    assert response.status_code == 201
    response = api.post(
        f"/api/cases/cases/{uuid}/transition/", {"to_state": "assessment", "reason": "走访完成"}
    )
    assert response.status_code == 200 and response.json()["state"] == "assessment"
    instrument = Instrument.objects.get(code="risk_screen", is_active=True)
    answers = {i.code: 1 for i in instrument.all_items()}
    response = api.post(
        "/api/cases/assessments/",
        {
            "case": uuid,
            "person": str(world.persons["a1"].uuid),
            "instrument": instrument.pk,
            "answers": answers,
        },
        content_type="application/json",
    )
    assert (
        response.status_code == 201
        and response.json()["total"] == 14
        and response.json()["level"] == "极高风险"
    )
    response = api.post(
        "/api/cases/plan-items/",
        {"case": uuid, "kind": "goal", "title": "安全"},
        content_type="application/json",
    )
    assert response.status_code == 201
    item = response.json()["uuid"]
    response = api.patch(
        f"/api/cases/plan-items/{item}/", {"status": "done"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "done"
    response = api.post(
        "/api/cases/interventions/",
        {"case": uuid, "kind": "counselling", "started_on": "2026-11-01", "outcome": "情绪稳定"},
        content_type="application/json",
    )
    assert response.status_code == 201
    response = api.post(
        "/api/cases/referrals/",
        {"case": uuid, "to_organisation": str(world.orgs["edu"].uuid), "reason": "学业支持"},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["status"] == "sent"
    referral = response.json()["uuid"]
    assert api.post(f"/api/cases/referrals/{referral}/withdraw/", {"reason": ""}).status_code == 400
    response = api.post(f"/api/cases/referrals/{referral}/withdraw/", {"reason": "改由学校直接跟进"})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert api.get("/api/cases/transitions/", {"case": uuid}).json()["count"] == 2
    response = api.post(f"/api/cases/cases/{uuid}/request-approval/", {"reason": "无需继续服务"})
    assert response.status_code == 201
    approval = case.approvals.get()
    lead = Client()
    verify_second_factor(lead, world.users["lead_a1"])
    response = api.post(
        f"/api/cases/cases/{uuid}/decide/",
        {"approval": str(approval.uuid), "approve": True, "reason": "同意"},
    )
    assert response.status_code == 403  # a worker cannot decide
    response = lead.post(
        f"/api/cases/cases/{uuid}/decide/",
        {"approval": str(approval.uuid), "approve": True, "reason": "同意"},
    )
    assert response.status_code == 200 and response.json()["state"] == "closed"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"case_type": "nonsense"}, "case_type"),
        ({"persons": ["not-a-uuid"]}, "persons"),
        ({"persons": []}, "persons"),
        ({"reason": ""}, "reason"),
        ({"origin_reference": "x" * 200}, "origin_reference"),
        ({"workstation": "00000000-0000-0000-0000-000000000000"}, "workstation"),
    ],
)
def test_open_case_ugly_input(world, api, body, field):
    base = {
        "persons": [str(world.persons["a1"].uuid)],
        "workstation": str(org("workstation", "310101002").uuid),
        "case_type": "victim",
        "risk_level": "low",
        "priority": "normal",
        "origin": "manual",
        "reason": "x",
    }
    base.update(body)
    response = api.post("/api/cases/cases/", base, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_transition_ugly_input(world, api):
    uuid = world.cases["a1"].uuid
    response = api.post(f"/api/cases/cases/{uuid}/transition/", {"to_state": "closed", "reason": "x"})
    assert response.status_code == 400 and "to_state" in response.json()["errors"]
    response = api.post(f"/api/cases/cases/{uuid}/transition/", {"to_state": "review", "reason": "x"})
    assert response.status_code == 400 and "不允许" in response.json()["errors"]["to_state"][0]
    response = api.post(f"/api/cases/cases/{uuid}/transition/", {"to_state": "bogus"})
    assert response.status_code == 400 and {"to_state", "reason"} <= set(response.json()["errors"])
    assert api.get("/api/cases/cases/not-a-uuid/").status_code == 404


def test_order_needs_issuer_date_and_terms(world, api):
    response = api.post(
        "/api/cases/interventions/",
        {"case": str(world.cases["a1"].uuid), "kind": "family_education_order", "started_on": "2026-11-01"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert {"issuer", "issued_on", "terms"} <= set(response.json()["errors"])


def test_assessment_ugly_answers(world, api):
    instrument = Instrument.objects.get(code="risk_screen", is_active=True)
    response = api.post(
        "/api/cases/assessments/",
        {
            "case": str(world.cases["a1"].uuid),
            "person": str(world.persons["a1"].uuid),
            "instrument": instrument.pk,
            "answers": {"injury": 9},
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "injury" in errors and "alone" in errors


def test_plan_item_responsible_must_be_of_the_case_workstation(world, api):
    case = world.cases["a1"]
    outsider = world.users["worker_b1"]  # staff of another street's workstation
    response = api.post(
        "/api/cases/plan-items/",
        {"case": str(case.uuid), "kind": "goal", "title": "安全", "responsible_user": outsider.username},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content.decode()
    assert "责任人须为本工作站的在岗人员" in response.json()["errors"]["responsible_user"][0]
    colleague = world.users["worker_a1"]
    response = api.post(
        "/api/cases/plan-items/",
        {"case": str(case.uuid), "kind": "goal", "title": "安全", "responsible_user": colleague.username},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["responsible_user"] == colleague.username
    lead = world.users["lead_a1"]
    assert services.responsible_users(case).filter(pk=lead.pk).exists()
    lead.role_assignments.update(valid_until=datetime.date.today() - datetime.timedelta(days=1))
    response = api.post(
        "/api/cases/plan-items/",
        {"case": str(case.uuid), "kind": "goal", "title": "安全", "responsible_user": lead.username},
        content_type="application/json",
    )
    assert response.status_code == 400  # the lead's assignment ended yesterday
    response = api.post(
        "/api/cases/plan-items/",
        {"case": str(case.uuid), "kind": "goal", "title": "安全", "responsible_user": "no-such-user"},
        content_type="application/json",
    )
    assert (
        response.status_code == 400
    )  # the same answer as for someone else's staff: usernames are not probed
    assert "责任人须为本工作站的在岗人员" in response.json()["errors"]["responsible_user"][0]
    inactive = world.orgs["edu"]
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    response = api.post(
        "/api/cases/plan-items/",
        {
            "case": str(case.uuid),
            "kind": "goal",
            "title": "安全",
            "responsible_organisation": str(inactive.uuid),
        },
        content_type="application/json",
    )
    assert (
        response.status_code == 400
        and "该单位已停用" in response.json()["errors"]["responsible_organisation"][0]
    )
