"""An alert opens a case: the alert page offers it, the form is prefilled, the case is linked, and an alert
whose visit is recorded closes with the outcome "case opened" (which needs such a case)."""

import pytest
from django.urls import reverse

from weibao.alerts.choices import AlertState, Outcome
from weibao.alerts.services import transition
from weibao.alerts.tests.test_pages import login
from weibao.cases.choices import Origin, Priority
from weibao.cases.models import Case


def test_closing_as_case_opened_needs_a_case(world, alert):
    worker = world.users["worker_a1"]
    alert = transition(alert, AlertState.ACKNOWLEDGED, actor=worker, reason="签收")
    alert = transition(alert, AlertState.VISITING, actor=worker, reason="入户")
    with pytest.raises(Exception) as refused:
        transition(
            alert,
            AlertState.CLOSED,
            actor=worker,
            reason="x",
            outcome=Outcome.CASE_OPENED,
            visit_result="家暴属实",
        )
    assert "须先由本预警立案" in str(refused.value)


def test_alert_opens_a_linked_case_and_closes(client, world, alert):
    worker = world.users["worker_a1"]
    alert = transition(alert, AlertState.ACKNOWLEDGED, actor=worker, reason="签收")
    alert = transition(
        alert, AlertState.VISITING, actor=worker, reason="入户", visit_result="母亲称父亲酒后动手"
    )
    login(client, world, "worker_a1")
    page = client.get(reverse("alerts:alert_detail", args=[alert.uuid])).content.decode()
    assert f"/cases/new/?alert={alert.uuid}" in page
    form = client.get(f"/cases/new/?alert={alert.uuid}").context["form"]
    assert form.initial["persons"] == [world.persons["a1"].pk]
    assert form.initial["priority"] == Priority.URGENT  # a 高危 rule
    response = client.post(
        "/cases/new/",
        {
            "persons": [world.persons["a1"].pk],
            "workstation": form.initial["workstation"],
            "case_type": "victim",
            "risk_level": "high",
            "priority": "urgent",
            "origin": "manual",
            "reason": "走访核实家暴，立案跟进",
            "alert": str(alert.uuid),
        },
    )
    assert response.status_code == 302
    case = Case.objects.get(alert=alert)
    assert case.origin == Origin.ALERT and case.origin_reference.startswith(alert.rule.code)
    alert.refresh_from_db()
    assert (alert.state, alert.outcome) == (AlertState.CLOSED, Outcome.CASE_OPENED)
    assert case.number in client.get(reverse("alerts:alert_detail", args=[alert.uuid])).content.decode()
    assert client.get(f"/api/cases/cases/{case.uuid}/").json()["alert"] == str(alert.uuid)


def test_another_streets_worker_cannot_use_the_alert(client, world, alert):
    login(client, world, "worker_b1")
    assert client.get(reverse("alerts:alert_detail", args=[alert.uuid])).status_code == 404
    form = client.get(f"/cases/new/?alert={alert.uuid}").context["form"]
    assert "alert" not in form.initial
