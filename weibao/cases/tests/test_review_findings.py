"""Review findings: children's names only under the person rule, audited API reads, referral links that
another case still needs, and ugly input that used to be a 500."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished
from django.db import close_old_connections
from django.urls import reverse

from weibao.audit.models import AuditEvent
from weibao.cases import services
from weibao.cases.models import Attachment, Case, Instrument, Note, PlanItem
from weibao.cases.testing import open_test_case
from weibao.lib.masking import mask_name
from weibao.lib.testing import signed_in
from weibao.registry.models import DepartmentLink, Person

HIDDEN = "（无权查看）"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def mixed_case(world):
    """A case on street A1 (lead_a1 sees it) with a child living on A2 (lead_a1 may not see the child),
    assessed and with an intervention naming that child."""
    district = world.users["district_a"]
    a1, a2 = world.persons["a1"], world.persons["a2"]
    case = open_test_case(district, [a1, a2], reason="区办立案")
    instrument = Instrument.objects.get(code="risk_screen", is_active=True)
    answers = {item.code: 0 for d in instrument.domains.all() for item in d.items.all()}
    for person in (a1, a2):
        services.record_assessment(case, district, person=person, instrument=instrument, answers=answers)
    services.add_intervention(
        case,
        district,
        kind="counselling",
        person=a2,
        description="心理辅导",
        started_on=datetime.date.today(),
    )
    lead = world.users["lead_a1"]
    # the situation the finding is about
    assert Case.objects.visible_to(lead).filter(pk=case.pk).exists()
    assert not Person.objects.visible_to(lead).filter(pk=a2.pk).exists()
    assert Person.objects.visible_to(lead).filter(pk=a1.pk).exists()
    return case


def test_case_pages_hide_the_name_of_a_child_the_viewer_may_not_see(world, mixed_case):
    lead = signed_in(world.users["lead_a1"])
    hidden, shown = world.persons["a2"].name, world.persons["a1"].name
    page = lead.get(reverse("cases:case_detail", args=[mixed_case.uuid])).content.decode()
    assert hidden not in page and shown in page and HIDDEN in page
    page = lead.get(
        reverse("cases:assessment_new", args=[mixed_case.uuid]), {"instrument": "risk_screen"}
    ).content.decode()
    assert hidden not in page and shown in page  # only the child the lead may change is offered
    response = lead.get(reverse("cases:case_list"), {"tab": "all"})
    row = next(c for c in response.context["object_list"] if c.pk == mixed_case.pk)
    assert row.visible_persons == [world.persons["a1"]]  # only the visible child's name is loaded
    assert f'{mask_name(shown)}、<span class="text-secondary">{HIDDEN}</span>' in response.content.decode()
    # the district office sees both children
    page = signed_in(world.users["district_a"]).get(reverse("cases:case_detail", args=[mixed_case.uuid]))
    assert hidden in page.content.decode()


def test_the_assessment_page_refuses_a_child_outside_the_change_scope(world, mixed_case):
    """As the API's ``person`` field: the lead may work the case but not the child living on A2."""
    lead = world.users["lead_a1"]
    instrument = Instrument.objects.get(code="risk_screen", is_active=True)
    answers = {f"q_{item.code}": "1" for item in instrument.all_items()}
    url = reverse("cases:assessment_new", args=[mixed_case.uuid])
    before = mixed_case.assessments.count()
    response = signed_in(lead).post(
        url, {"instrument": "risk_screen", "person": str(world.persons["a2"].uuid), **answers}
    )
    assert response.status_code == 200 and "请选择评估对象" in response.content.decode()
    assert mixed_case.assessments.count() == before
    assert not mixed_case.assessments.filter(assessed_by=lead).exists()
    response = signed_in(lead).post(
        url, {"instrument": "risk_screen", "person": str(world.persons["a1"].uuid), **answers}
    )
    assert response.status_code == 302
    assert mixed_case.assessments.get(assessed_by=lead).person == world.persons["a1"]


def test_case_timeline_hides_the_name(world, mixed_case):
    from weibao.cases.timeline import case_timeline

    titles = [e["title"] for e in case_timeline(mixed_case, world.users["lead_a1"], True)]
    assessed = [t for t in titles if "分" in t and "·" in t]
    assert len(assessed) == 2
    assert not any(world.persons["a2"].name in t for t in titles)
    assert any(HIDDEN in t for t in assessed) and any(world.persons["a1"].name in t for t in assessed)


def test_pdf_hides_the_name(world, mixed_case, monkeypatch):
    from weibao.cases import pdf

    lines = []
    real = pdf._line
    monkeypatch.setattr(pdf, "_line", lambda doc, text: (lines.append(text), real(doc, text)))
    pdf.case_summary_pdf(mixed_case, world.users["lead_a1"])
    text = "\n".join(lines)
    assert world.persons["a2"].name not in text and world.persons["a1"].name in text
    assert sum(HIDDEN in line and "总分" in line for line in lines) == 1


def test_api_reads_of_case_rows_are_audited(world):
    case = world.cases["a1"]
    worker = world.users["worker_a1"]
    note = services.add_note(case, worker, kind="visit", text="走访")
    api = signed_in(worker)
    assert api.get(f"/api/cases/notes/{note.uuid}/").status_code == 200
    assert AuditEvent.objects.filter(action="view", object_id=str(note.uuid), actor_id=worker.pk).exists()
    response = api.get("/api/cases/notes/", {"case": str(case.uuid)})
    assert response.status_code == 200 and response.json()["count"] == 1
    event = AuditEvent.objects.get(action="view", object_id=str(case.uuid), actor_id=worker.pk)
    assert event.extra["rows"] == "cases.note"
    response = api.get("/api/cases/referrals/")
    rows = response.json()["results"]
    assert rows
    event = AuditEvent.objects.get(action="search", object_type="cases.referral", actor_id=worker.pk)
    assert sorted(event.extra["ids"]) == sorted(r["uuid"] for r in rows)
    transition = case.transitions.first()
    assert api.get(f"/api/cases/transitions/{transition.pk}/").status_code == 200
    assert AuditEvent.objects.filter(
        action="view", object_type="cases.casetransition", object_id=str(transition.pk)
    ).exists()
    # malformed keys are a 404, not a 500
    assert api.get("/api/cases/notes/not-a-uuid/").status_code == 404
    assert api.get("/api/cases/transitions/abc/").status_code == 404
    assert api.get("/api/cases/notes/", {"case": "abc"}).status_code == 400


def test_withdrawing_one_referral_keeps_the_link_another_case_needs(world):
    edu, worker = world.orgs["edu"], world.users["worker_a1"]
    a1 = world.persons["a1"]
    first = world.cases["a1_referred"].referrals.get()
    second = services.send_referral(world.cases["a1"], worker, to_organisation=edu, reason="另一案件")
    links = DepartmentLink.objects.filter(person=a1, organisation=edu, basis="referred")
    assert links.exists()
    services.withdraw_referral(first, worker, reason="已解决")
    assert links.exists()  # the other case's referral still needs it
    assert Person.objects.visible_to(world.users["edu_city"]).filter(pk=a1.pk).exists()
    services.respond_referral(second, world.users["edu_city"], accept=False, reason="不属本单位职责")
    assert not links.exists()


def test_note_without_kind_and_plan_patch_without_status(world):
    case = world.cases["a1"]
    api = signed_in(world.users["worker_a1"])
    response = api.post(
        "/api/cases/notes/", {"case": str(case.uuid), "text": "电话"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Note.objects.get(uuid=response.json()["uuid"]).kind == "visit"
    item = services.add_plan_item(case, world.users["worker_a1"], kind="goal", title="恢复上学")
    response = api.patch(f"/api/cases/plan-items/{item.uuid}/", {}, content_type="application/json")
    assert response.status_code == 400 and "status" in response.json()["errors"]
    assert PlanItem.objects.get(pk=item.pk).status == item.status


def test_open_case_page_ignores_malformed_prefill(world):
    client = signed_in(world.users["worker_a1"])
    for name in ("person", "report", "alert"):
        assert client.get(reverse("cases:case_open"), {name: "abc"}).status_code == 200
    response = client.get(reverse("cases:case_open"), {"person": str(world.persons["a1"].uuid)})
    assert response.status_code == 200
    assert f'name="persons" value="{world.persons["a1"].pk}" checked' in response.content.decode()


def test_next_tab_accepts_only_known_tabs(world):
    case = world.cases["a1"]
    client = signed_in(world.users["worker_a1"])
    url = reverse("cases:note_add", args=[case.uuid])
    detail = reverse("cases:case_detail", args=[case.uuid])
    response = client.post(url, {"kind": "note", "text": "a", "next_tab": "notes"})
    assert response.status_code == 302 and response["Location"] == f"{detail}#notes"
    response = client.post(url, {"kind": "note", "text": "b", "next_tab": '"><script>x</script>'})
    assert response.status_code == 302 and response["Location"] == detail


def test_attachment_download_nosniff_and_missing_file(world):
    case = world.cases["a1"]
    worker = world.users["worker_a1"]
    services.add_note(
        case,
        worker,
        kind="note",
        text="照片",
        files=[SimpleUploadedFile("照片.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)],
    )
    attachment = Attachment.objects.get(note__case=case)
    client = signed_in(worker)
    response = client.get(reverse("cases:attachment", args=[attachment.uuid]))
    assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    # Closing a response fires request_finished, which would close the test's database connection
    # (Django's test client unhooks the same receiver while it runs a request).
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    attachment.file.storage.delete(attachment.file.name)
    assert client.get(reverse("cases:attachment", args=[attachment.uuid])).status_code == 404


def test_receiver_goes_back_to_the_case_it_may_see(world):
    referral = world.cases["a1_referred"].referrals.get()
    edu = signed_in(world.users["edu_city"])
    response = edu.post(
        reverse("cases:referral_respond", args=[referral.uuid]), {"accept": "1", "reason": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:case_detail", args=[referral.case.uuid])


def test_a_bad_file_among_several_stores_none_of_them(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = world.cases["a1"]
    good = SimpleUploadedFile("照片.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    bad = SimpleUploadedFile("伪装.pdf", b"MZ not a pdf")
    with pytest.raises(ValidationError) as caught:
        services.add_note(case, world.users["worker_a1"], kind="note", text="两份材料", files=[good, bad])
    assert "伪装.pdf" in str(caught.value)
    assert not Note.objects.filter(case=case, text="两份材料").exists()
    assert not Attachment.objects.filter(case=case).exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_files_written_before_a_failure_are_removed(world, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    case = world.cases["a1"]
    real = services.add_attachment
    calls = []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "add_attachment", second_fails)
    files = [SimpleUploadedFile(f"照片{i}.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64) for i in range(2)]
    with pytest.raises(OSError):
        services.add_note(case, world.users["worker_a1"], kind="note", text="两张照片", files=files)
    assert not Attachment.objects.filter(case=case).exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_files_are_removed_when_the_note_fails_after_storing_them(world, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    case = world.cases["a1"]
    real = services.record

    def audit_fails_on_the_note(actor, action, obj, **kwargs):
        if isinstance(obj, Note):
            raise RuntimeError("audit trail unavailable")
        return real(actor, action, obj, **kwargs)

    monkeypatch.setattr(services, "record", audit_fails_on_the_note)
    files = [SimpleUploadedFile("照片.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)]
    with pytest.raises(RuntimeError):
        services.add_note(case, world.users["worker_a1"], kind="note", text="照片", files=files)
    assert not Attachment.objects.filter(case=case).exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_withdrawing_a_referral_to_the_police_keeps_their_view_of_a_reported_child(world):
    from weibao.reports import services as reports
    from weibao.reports.testing import make_report

    police, worker, a1 = world.orgs["police_a"], world.users["worker_a1"], world.persons["a1"]
    report = make_report(world)
    report.person = a1
    report.save(update_fields=["person"])
    reports.give_police_access(report)  # the routed police see the reported child
    referral = services.send_referral(world.cases["a1"], worker, to_organisation=police, reason="请协助")
    services.withdraw_referral(referral, worker, reason="已解决")
    assert DepartmentLink.objects.filter(person=a1, organisation=police, basis="referred").exists()
    assert Person.objects.visible_to(world.users["police_a"]).filter(pk=a1.pk).exists()
