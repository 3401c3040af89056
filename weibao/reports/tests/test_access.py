"""The access matrix for reports: every persona, through the pages, the API and the export."""

import pytest
from django.test import Client

from weibao.lib.testing import B1, PERSONAS, verify_second_factor
from weibao.reports.models import Report
from weibao.reports.testing import make_report

# persona → (reports it sees, reports it may export, reports it may act on, sees the minor, sees who reported)
A, B = "A", "B"
EXPECTED = {
    "city": ({A, B}, {A, B}, {A, B}, True, True),
    "district_a": ({A}, {A}, {A}, True, True),
    "worker_a1": ({A}, set(), {A}, True, False),
    "lead_a1": ({A}, {A}, {A}, True, False),
    "worker_b1": ({B}, set(), {B}, True, False),
    "police_a": ({A}, set(), {A}, True, True),
    "prosecutor_a": (set(), set(), set(), False, False),
    "court_a": (set(), set(), set(), False, False),
    "edu_city": (set(), set(), set(), False, False),
    "reporter": ({A}, set(), set(), False, False),  # its own school's report: status and feedback only
    "hr": (set(), set(), set(), False, False),
    "sysadmin": (set(), set(), set(), False, False),
    "secadmin": (set(), set(), set(), False, False),
    "auditor": (set(), set(), set(), False, False),
    "sysadmin_a": (set(), set(), set(), False, False),
    "norole": (set(), set(), set(), False, False),
}


def test_every_persona_has_an_expectation():
    assert set(EXPECTED) == set(PERSONAS)


@pytest.fixture
def reports(world):
    a = make_report(
        world, reporter_name="张老师甲", reporter_contact="13900001111"
    )  # filed by the school in A1, minor lives in A1
    b = make_report(
        world, by=None, street=B1, minor_name="赵小雨", reporter_name="热心市民甲"
    )  # public, in B1
    return {A: a, B: b}


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_report_access_matrix(world, reports, persona):
    sees, exports, acts, minor, identity = EXPECTED[persona]
    user = world.users[persona]
    client = Client()
    verify_second_factor(client, user)

    listing = client.get("/reports/")
    if sees:
        assert listing.status_code == 200
        shown = {k for k, r in reports.items() if r.number in listing.content.decode()}
        assert shown == sees
    else:
        assert listing.status_code == 403

    for key, report in reports.items():
        page = client.get(f"/reports/{report.uuid}/")
        api = client.get(f"/api/reports/reports/{report.uuid}/")
        if key in sees:
            assert page.status_code == 200 and api.status_code == 200
            html, data = page.content.decode(), api.json()
            assert (report.minor_name in html) is minor
            assert (data.get("minor_name") == report.minor_name) is minor
            assert (report.reporter_name in html) is identity
            assert (data.get("reporter_name") == report.reporter_name) is identity
            assert data["status"] == report.status
        else:
            assert page.status_code == 404 and api.status_code == 404

    api_list = client.get("/api/reports/reports/")
    if api_list.status_code == 200:
        numbers = {r["number"] for r in api_list.json()["results"]}
        assert numbers == {reports[k].number for k in sees}
    else:
        assert not sees and api_list.status_code == 403

    export = client.get("/reports/export.csv")
    if exports or persona in ("city", "district_a"):
        assert export.status_code == 200
        body = b"".join(export.streaming_content).decode()
        assert {k for k, r in reports.items() if r.number in body} == exports
    else:
        assert export.status_code == 403

    changeable = Report.objects.visible_to(user, "change")
    assert {k for k, r in reports.items() if changeable.filter(pk=r.pk).exists()} == acts
    for key, report in reports.items():  # first contact: the workstation's step; others in scope are refused
        response = client.post(f"/reports/{report.uuid}/contact/", {"contact_note": "已联系"})
        if key in acts:
            assert response.status_code == (302 if persona in ("worker_a1", "lead_a1", "worker_b1") else 403)
        else:
            assert response.status_code == 404


def test_attachments_are_served_only_to_those_who_see_the_details(world, tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from weibao.audit.models import AuditEvent
    from weibao.reports import attachments

    settings.MEDIA_ROOT = tmp_path
    report = make_report(world)
    item = attachments.store(report, SimpleUploadedFile("伤情.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100))
    assert not str(attachments.path_of(item)).startswith(str(settings.STATIC_ROOT))
    for persona, status in [("police_a", 200), ("worker_a1", 200), ("reporter", 404), ("worker_b1", 404)]:
        client = Client()
        verify_second_factor(client, world.users[persona])
        response = client.get(f"/reports/attachments/{item.uuid}/")
        assert response.status_code == status, persona
        if status == 200:
            assert response["Content-Type"] == "image/png"
    assert AuditEvent.objects.filter(object_id=str(report.uuid), extra__attachment="伤情.png").count() == 2


def test_sexual_abuse_reports_need_the_sensitive_flag(world, reports):
    """A street worker without ``may_read_sensitive`` does not see them; the lead (flagged) and police do."""
    from weibao.reports.choices import Situation

    report = reports[A]
    Report.objects.filter(pk=report.pk).update(situation=Situation.UNDER14_SEXUAL)
    for persona, sees in [("worker_a1", False), ("lead_a1", True), ("police_a", True), ("district_a", False)]:
        user = world.users[persona]
        assert Report.objects.visible_to(user).filter(pk=report.pk).exists() is sees, persona
