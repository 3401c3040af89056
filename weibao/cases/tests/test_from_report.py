"""A mandatory report opens a case: the report page offers it, the form is prefilled, the two are linked."""

import pytest

from weibao.cases.choices import Origin, Priority
from weibao.cases.models import Case
from weibao.lib.testing import signed_in
from weibao.reports.testing import make_report

pytestmark = pytest.mark.django_db


def test_report_opens_a_linked_case(world):
    report = make_report(world)
    worker = world.users["worker_a1"]
    client = signed_in(worker)
    page = client.get(f"/reports/{report.uuid}/").content.decode()
    assert f"/cases/new/?report={report.uuid}" in page
    form = client.get(f"/cases/new/?report={report.uuid}")
    assert form.context["form"].initial["origin_reference"] == report.number
    assert form.context["form"].initial["workstation"] == report.workstation_id
    person = report.person or world.persons["a1"]
    response = client.post(
        "/cases/new/",
        {
            "persons": [person.pk],
            "workstation": report.workstation_id,
            "case_type": "victim",
            "risk_level": "high",
            "priority": Priority.NORMAL,
            "origin": Origin.MANUAL,  # overridden: a case from a report says so
            "origin_reference": "",
            "reason": "报告核实后立案",
            "report": str(report.uuid),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = Case.objects.get(report=report)
    assert (case.report, case.origin, case.origin_reference) == (report, Origin.REPORT, report.number)
    assert case.number in client.get(f"/reports/{report.uuid}/").content.decode()
    assert f"/reports/{report.uuid}/" in client.get(f"/cases/{case.uuid}/").content.decode()
    api = client.get(f"/api/cases/cases/{case.uuid}/").json()
    assert api["report"] == str(report.uuid)


def test_a_report_out_of_scope_cannot_be_used(world):
    report = make_report(world, street="310115004", minor_name="浦东孩子")  # routed to B1's workstation
    before = Case.objects.count()
    worker = world.users["worker_a1"]
    client = signed_in(worker)
    assert client.get(f"/reports/{report.uuid}/").status_code == 404
    form = client.get(f"/cases/new/?report={report.uuid}")
    assert "report" not in {k for k, v in form.context["form"].initial.items() if v}
    response = client.post(
        "/api/cases/cases/",
        {
            "persons": [str(world.persons["a1"].uuid)],
            "workstation": str(report.workstation.uuid) if report.workstation else "",
            "case_type": "victim",
            "risk_level": "high",
            "priority": "normal",
            "origin": "report",
            "reason": "试图越权",
            "report": str(report.uuid),
        },
        content_type="application/json",
    )
    assert response.status_code == 400  # a report out of scope does not exist for this user
    assert Case.objects.count() == before


def test_a_source_report_gone_out_of_scope_is_explained_on_the_form(world):
    report = make_report(world)
    worker = world.users["worker_b1"]  # another street: the report is not theirs
    response = signed_in(worker).post(
        "/cases/new/",
        {
            "persons": [world.persons["b1"].pk],
            "case_type": "victim",
            "risk_level": "high",
            "priority": Priority.NORMAL,
            "origin": Origin.MANUAL,
            "reason": "立案",
            "report": str(report.uuid),
        },
    )
    assert response.status_code == 200
    assert "来源报告：" in response.content.decode()  # the hidden field's error is shown, not swallowed
    assert not Case.objects.filter(report=report).exists()
