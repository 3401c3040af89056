import datetime
import re
import shutil
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from weibao.audit.models import AuditEvent
from weibao.cases import services
from weibao.cases.models import Attachment, Case, Instrument
from weibao.cases.testing import supervision_order
from weibao.lib.masking import mask_name
from weibao.lib.testing import org, signed_in
from weibao.registry.models import Person

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_open_case_page_then_work_it(world):
    worker = world.users["worker_a1"]
    client = signed_in(worker)
    assert client.get(reverse("cases:case_open")).status_code == 200
    response = client.post(reverse("cases:case_open"), {"persons": [world.persons["a1"].pk], "reason": ""})
    assert response.status_code == 200 and "立案事由" in response.content.decode()
    response = client.post(
        reverse("cases:case_open"),
        {
            "persons": [world.persons["a1"].pk],
            "workstation": org("workstation", "310101002").pk,
            "case_type": "left_behind",
            "risk_level": "medium",
            "priority": "urgent",
            "origin": "report",
            "origin_reference": "BG2026-000001",
            "reason": "学校报告",
        },
    )
    case = Case.objects.get(origin_reference="BG2026-000001")
    assert response.status_code == 302 and response["Location"].endswith(f"/cases/{case.uuid}/")
    assert (
        client.post(
            reverse("cases:case_transition", args=[case.uuid]), {"to_state": "assessment", "reason": "x"}
        ).status_code
        == 302
    )
    case.refresh_from_db()
    assert case.state == "intake"  # no visit yet: refused with a message
    response = client.post(
        reverse("cases:note_add", args=[case.uuid]),
        {
            "kind": "visit",
            "text": "入户",
            "place": "家中",
            "files": [SimpleUploadedFile("照片.png", PNG, "image/png")],
        },
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get(case=case)
    assert attachment.original_name == "照片.png" and "static" not in attachment.file.path
    client.post(
        reverse("cases:case_transition", args=[case.uuid]), {"to_state": "assessment", "reason": "走访完成"}
    )
    case.refresh_from_db()
    assert case.state == "assessment"
    instrument = Instrument.objects.get(code="risk_screen", is_active=True)
    url = reverse("cases:assessment_new", args=[case.uuid]) + "?instrument=risk_screen"
    assert client.get(url).status_code == 200
    answers = {f"q_{i.code}": "1" for i in instrument.all_items()}
    response = client.post(
        url, {"person": str(world.persons["a1"].uuid), "instrument": "risk_screen", **answers}
    )
    assert response.status_code == 302
    assert case.assessments.get().total == 14
    response = client.post(url, {"person": str(world.persons["a1"].uuid), "instrument": "risk_screen"})
    assert response.status_code == 200 and "请完成所有题目" in response.content.decode()
    client.post(reverse("cases:plan_add", args=[case.uuid]), {"kind": "goal", "title": "恢复正常上学"})
    goal = case.plan_items.get()
    client.post(
        reverse("cases:plan_add", args=[case.uuid]),
        {"kind": "action", "goal": goal.pk, "title": "联系学校", "due": "2030-01-01"},
    )
    assert case.plan_items.count() == 2
    client.post(
        reverse("cases:intervention_add", args=[case.uuid]),
        {"kind": "supervision_order", "started_on": "2026-01-05", "status": "ongoing"},
    )
    assert not case.interventions.exists()  # an order needs issuer, date and terms
    court = org("court", "310101")
    client.post(
        reverse("cases:intervention_add", args=[case.uuid]),
        supervision_order(court),
    )
    order = case.interventions.get()
    client.post(
        reverse("cases:compliance_add", args=[case.uuid, order.uuid]),
        {"reviewed_on": "2026-02-01", "complied": "0", "note": "未报告"},
    )
    assert order.reviews.get().complied is False
    page = client.get(reverse("cases:case_detail", args=[case.uuid])).content.decode()
    for text in ("走访", "恢复正常上学", "监护监督令", "未报告", "照片.png", "儿童风险初筛"):
        assert text in page


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("x.exe", b"MZ...", "类型不允许"),
        ("fake.pdf", b"hello", "不符"),
        ("empty.png", b"", "为空"),
        ("gbk.txt", "中文".encode("gbk"), "UTF-8"),
    ],
)
def test_bad_uploads_are_refused_with_the_reason(world, name, content, reason):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as e:
        services.add_note(
            world.cases["a1"],
            world.users["worker_a1"],
            kind="note",
            text="x",
            files=[SimpleUploadedFile(name, content)],
        )
    assert reason in e.value.message_dict["file"][0]


def test_too_large_upload_refused(world, monkeypatch):
    from django.core.exceptions import ValidationError

    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 10)
    with pytest.raises(ValidationError):
        services.add_note(
            world.cases["a1"],
            world.users["worker_a1"],
            kind="note",
            text="x",
            files=[SimpleUploadedFile("a.png", PNG)],
        )


def test_attachment_download_scoped_and_audited(world):
    referral_case = world.cases["a1_referred"]
    services.add_note(
        referral_case,
        world.users["worker_a1"],
        kind="note",
        text="内部",
        files=[SimpleUploadedFile("内部.png", PNG)],
    )
    internal = Attachment.objects.get(note__isnull=False)
    referral = referral_case.referrals.get()
    shared = services.add_attachment(
        referral_case,
        world.users["worker_a1"],
        SimpleUploadedFile("转介材料.pdf", b"%PDF-1.4 x"),
        referral=referral,
    )
    worker = signed_in(world.users["worker_a1"])
    response = worker.get(reverse("cases:attachment", args=[internal.uuid]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert AuditEvent.objects.filter(action="view", object_id=str(internal.uuid)).exists()
    edu = signed_in(world.users["edu_city"])
    assert edu.get(reverse("cases:attachment", args=[shared.uuid])).status_code == 200
    assert edu.get(reverse("cases:attachment", args=[internal.uuid])).status_code == 404
    assert AuditEvent.objects.filter(
        action="denied", object_id=str(internal.uuid), actor_id=world.users["edu_city"].pk
    ).exists()
    assert (
        signed_in(world.users["worker_b1"]).get(reverse("cases:attachment", args=[internal.uuid])).status_code
        == 404
    )


def test_member_unit_accepts_and_reports_on_the_page(world):
    referral = world.cases["a1_referred"].referrals.get()
    edu = signed_in(world.users["edu_city"])
    assert world.cases["a1_referred"].number in edu.get(reverse("cases:referral_list")).content.decode()
    edu.post(reverse("cases:referral_respond", args=[referral.uuid]), {"accept": "1", "reason": ""})
    edu.post(reverse("cases:referral_report", args=[referral.uuid]), {"report": "已安排辅导老师"})
    referral.refresh_from_db()
    assert referral.status == "reported" and referral.report == "已安排辅导老师"
    worker_page = signed_in(world.users["worker_a1"]).get(
        reverse("cases:case_detail", args=[referral.case.uuid])
    )
    assert "已安排辅导老师" in worker_page.content.decode()


def _pdf_text_fonts(data: bytes):
    fonts = set(re.findall(rb"/BaseFont\s*/([A-Za-z0-9+\-]+)", data))
    embedded = b"/FontFile3" in data or b"/FontFile2" in data
    return fonts, embedded


def test_pdf_embeds_the_cjk_font_and_is_watermarked_per_page(world, tmp_path):
    lead = world.users["lead_a1"]
    case = world.cases["a1"]
    for i in range(40):  # enough notes for several pages
        services.add_note(case, lead, kind="note", text=f"第{i}次电话联系，了解儿童近况。" * 3)
    response = signed_in(lead).get(reverse("cases:case_pdf", args=[case.uuid]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    data = response.content
    fonts, embedded = _pdf_text_fonts(data)
    assert embedded and any(b"NotoSansCJKSC" in f for f in fonts)
    event = AuditEvent.objects.get(action="export", object_id=str(case.uuid))
    assert event.actor_id == lead.pk
    if shutil.which("pdftotext"):
        path = tmp_path / "case.pdf"
        path.write_bytes(data)
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
        ).stdout.decode()
        pages = text.split("\f")[:-1]
        assert len(pages) >= 2
        assert "未成年人保护个案摘要" in pages[0] and case.number in pages[0] and "南京东路街道" in pages[0]
        for page in pages:
            assert "lead_a1" in page and "导出" in page  # the watermark and footer on every page
    else:
        pytest.skip("pdftotext (poppler-utils, installed by scripts/setup) is needed to read the pages")


def test_case_list_tabs_and_caseload_pages(world):
    worker = signed_in(world.users["worker_a1"])
    for tab in ("mine", "all", "overdue", "approvals"):
        assert worker.get(reverse("cases:case_list"), {"tab": tab}).status_code == 200
    assert worker.get(reverse("cases:case_list")).context["tab"] == "mine"  # the worker has open cases
    assert signed_in(world.users["district_a"]).get(reverse("cases:case_list")).context["tab"] == "all"
    page = worker.get(reverse("cases:case_list"), {"tab": "all", "risk_level": "high"}).content.decode()
    assert world.cases["a1"].number in page and world.cases["b1"].number not in page
    for persona in ("city", "district_a", "worker_a1", "edu_city"):
        response = signed_in(world.users[persona]).get(reverse("cases:caseload"))
        assert response.status_code == 200
    assert signed_in(world.users["sysadmin"]).get(reverse("cases:caseload")).status_code == 403
    context = signed_in(world.users["city"]).get(reverse("cases:caseload")).context
    assert context["open_count"] == 4
    assert dict(context["by_area"]) == {"黄浦区": 3, "浦东新区": 1}


def test_person_timeline_shows_cases(world):
    page = signed_in(world.users["worker_a1"]).get(
        reverse("registry:person_detail", args=[world.persons["a1"].uuid])
    )
    assert world.cases["a1"].number in page.content.decode()


def test_case_timeline_in_date_order(world):
    case = world.cases["a1"]
    worker = world.users["worker_a1"]
    services.add_note(
        case, worker, kind="visit", text="走访", occurred_at=case.opened_at - datetime.timedelta(hours=1)
    )
    services.transition(case, "assessment", worker, reason="评估")
    from weibao.cases.timeline import case_timeline

    entries = case_timeline(case, worker, True)
    assert [e["kind"] for e in entries] == ["transition", "transition", "note"]
    assert entries == sorted(entries, key=lambda e: e["when"], reverse=True)


def test_person_picker_searches_within_scope_and_is_audited(world):
    worker = signed_in(world.users["worker_a1"])
    html = worker.get(reverse("cases:person_picker"), {"q": "测试"}).content.decode()
    assert f'value="{world.persons["a1"].pk}"' in html
    assert f'value="{world.persons["b1"].pk}"' not in html and f'value="{world.persons["a2"].pk}"' not in html
    assert AuditEvent.objects.filter(actor_id=world.users["worker_a1"].pk, action="search").exists()
    assert worker.get(reverse("cases:person_picker")).status_code == 200
    assert (
        signed_in(world.users["sysadmin"]).get(reverse("cases:person_picker"), {"q": "测试"}).status_code
        == 403
    )
    assert signed_in(world.users["edu_city"]).get(reverse("cases:case_open")).status_code == 403
    page = worker.get(reverse("cases:case_open"), {"person": str(world.persons["a1"].uuid)}).content.decode()
    assert f'value="{world.persons["a1"].pk}" checked' in page


def _open_case_data(persons, **extra):
    return {
        "persons": persons,
        "workstation": str(org("workstation", "310101002").pk),
        "case_type": "left_behind",
        "risk_level": "medium",
        "priority": "normal",
        "origin": "manual",
        "reason": "兄妹二人",
        "origin_reference": "SIBLINGS-1",
        "q": "测试",  # the picker's search box posts with the form; nothing reads it
        **extra,
    }


def _sibling(world, name="欧阳娜娜", **fields):
    a1 = world.persons["a1"]
    return Person.objects.create(
        name=name, sex="M", birth_date=a1.birth_date, street=a1.street, **{"sensitivity": "normal", **fields}
    )


def test_open_case_form_shown_again_keeps_the_chosen_children_masked(world):
    """The persons field is the shared search picker: after an error the chosen children are ticked
    checkboxes under the box, with masked names, and the page lists no other child."""
    client = signed_in(world.users["worker_a1"])
    a1, sibling = world.persons["a1"], _sibling(world)
    response = client.post(reverse("cases:case_open"), _open_case_data([a1.pk, sibling.pk], reason=""))
    assert response.status_code == 200 and list(response.context["form"].errors) == ["reason"]
    html = response.content.decode()
    chosen = html[html.index('id="id_persons-chosen"') : html.index('id="id_persons-results"')]
    for person in (a1, sibling):
        assert f'type="checkbox" name="persons" value="{person.pk}" checked' in chosen
        assert f"<span>{mask_name(person.name)}</span>" in chosen
    assert "欧阳**" in chosen and "欧阳娜娜" not in html and "测试a1" not in html
    assert chosen.index(f'value="{a1.pk}"') < chosen.index(f'value="{sibling.pk}"')  # in the order chosen
    assert f'hx-get="{reverse("cases:person_picker")}"' in html and "cases/picker.js" in html
    assert 'type="hidden" name="persons"' not in html
    response = client.post(reverse("cases:case_open"), _open_case_data([a1.pk, sibling.pk]))
    assert response.status_code == 302
    assert set(Case.objects.get(origin_reference="SIBLINGS-1").persons.all()) == {a1, sibling}
    shown_again = AuditEvent.objects.filter(action="view", object_type="registry.person").get()
    assert shown_again.extra == {"ids": [a1.pk, sibling.pk], "purpose": "open case form shown again"}


def test_an_open_case_form_posted_with_many_children_is_refused_and_lists_twenty_at_most(world):
    """A crafted post of 30 ids cannot make the page list every child it names: at most 20 are shown again
    (each shown one audited), and a case takes at most 20 children."""
    from weibao.cases.forms import MAX_CHILDREN

    client = signed_in(world.users["worker_a1"])
    children = [_sibling(world, name=f"孩子{i:02d}") for i in range(30)]
    response = client.post(reverse("cases:case_open"), _open_case_data([p.pk for p in children]))
    assert response.status_code == 200 and list(response.context["form"].errors) == ["persons"]
    assert f"最多关联 {MAX_CHILDREN} 名" in str(response.context["form"].errors["persons"])
    html = response.content.decode()
    chosen = html[html.index('id="id_persons-chosen"') : html.index('id="id_persons-results"')]
    assert chosen.count('name="persons"') == MAX_CHILDREN
    audited = AuditEvent.objects.filter(action="view", object_type="registry.person").get()
    assert audited.extra["ids"] == [p.pk for p in children[:MAX_CHILDREN]]
    assert not Case.objects.filter(origin_reference="SIBLINGS-1").exists()


@pytest.mark.parametrize(
    "forged",
    ["other_street", "sensitive", "adult", "missing", "text", "huge", "thousands_of_digits", "negative"],
)
def test_a_forged_child_on_the_open_case_form_is_the_fields_error(world, forged):
    client = signed_in(world.users["worker_a1"])
    a1, adult = world.persons["a1"], _sibling(world, "王大伟", kind="adult")
    value = {
        "other_street": world.persons["b1"].pk,  # outside worker_a1's street
        "sensitive": world.persons["a1_sensitive"].pk,  # without the sensitive flag
        "adult": adult.pk,  # in the street, but the picker offers children only
        "missing": Person.objects.order_by("-pk").first().pk + 1000,
        "text": "测试b1",
        "huge": str(2**70),
        "thousands_of_digits": "9" * 5000,  # int() of it raises
        "negative": -1,
    }[forged]
    response = client.post(reverse("cases:case_open"), _open_case_data([a1.pk, value]))
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["persons"] and str(value) in str(form.errors["persons"])
    assert not Case.objects.filter(origin_reference="SIBLINGS-1").exists()
    html = response.content.decode()
    chosen = html[html.index('id="id_persons-chosen"') : html.index('id="id_persons-results"')]
    assert f'value="{a1.pk}" checked' in chosen and f'value="{value}"' not in chosen  # the forged one is gone
    assert 'id="id_persons" class="form-control is-invalid"' in html
