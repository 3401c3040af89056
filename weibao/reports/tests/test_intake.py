"""Public form, partner API, drafts and attachments: what is accepted, what is refused and why."""

import io
import zipfile
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from weibao.audit.models import AuditEvent
from weibao.lib.testing import A1, B1, area, verify_second_factor
from weibao.reports.choices import Channel, Refusal, Status
from weibao.reports.models import Attachment, Draft, PartnerChannel, Report, Submission
from weibao.reports.testing import STAFF, id_number, partner_with_token

PUBLIC = {
    "situation": "abandoned",
    "description": "楼下的小孩连续三天一个人在家，没有大人照顾，晚上一直哭。",
    "minor_name": "小宝",
    "minor_sex": "U",
    "minor_age": "6",
    "minor_street": "",
    "suspect_relation": "parent",
}


def _public(**overrides):
    data = PUBLIC | {"minor_street": str(area(A1).pk)} | overrides
    return data


def test_anonymous_public_report_is_accepted_routed_and_kept(world):
    client = Client()
    assert client.get("/reports/public/").status_code == 200
    response = client.post("/reports/public/", _public())
    assert response.status_code == 302 and response.url == "/reports/public/thanks/"
    report = Report.objects.get()
    assert report.channel == Channel.PUBLIC and report.reporter_name == "" and report.reporter_org is None
    assert report.workstation.area == area(A1) and report.police is not None
    thanks = client.get("/reports/public/thanks/")
    assert report.number in thanks.content.decode()
    assert Submission.objects.get().accepted and Submission.objects.get().report == report
    assert Submission.objects.get().address_hash and "127.0.0.1" not in Submission.objects.get().address_hash


def test_public_form_refusals_say_why_and_are_kept(world):
    client = Client()
    cases = [
        ({"description": "太短"}, Refusal.EMPTY, "过短"),
        ({"description": "https://spam.example.com/x https://b.example"}, Refusal.SPAM, "只有链接"),
        ({"description": "很长" * 3000}, Refusal.TOO_LARGE, "过长"),
        ({"minor_street": "", "minor_name": ""}, Refusal.INVALID, "街镇"),
        ({"website": "http://bot"}, Refusal.SPAM, "未被接受"),
        ({"situation": "nonsense"}, Refusal.INVALID, "情形"),
    ]
    for overrides, refusal, text in cases:
        response = client.post("/reports/public/", _public(**overrides))
        assert response.status_code == 200, overrides
        html = response.content.decode()
        assert text in html, (overrides, text)
        assert PUBLIC["minor_name"] in html or "minor_name" in overrides  # nothing typed is lost
        assert Submission.objects.order_by("-pk").first().refusal == refusal
    assert Report.objects.count() == 0
    assert Submission.objects.filter(accepted=False).count() == len(cases)
    assert AuditEvent.objects.filter(action="denied", object_type="reports.submission").count() == len(cases)


def test_public_form_is_rate_limited_per_address(world, settings):
    settings.REPORTS = {"PUBLIC_RATE": (3, 3600)}
    client = Client(REMOTE_ADDR="10.0.0.9")
    for _ in range(3):
        assert client.post("/reports/public/", _public()).status_code == 302
    refused = client.post("/reports/public/", _public())
    assert refused.status_code == 429
    assert "提交过于频繁" in refused.content.decode() and "110" in refused.content.decode()
    assert Submission.objects.filter(refusal=Refusal.RATE_LIMITED).count() == 1
    other = Client(REMOTE_ADDR="10.0.0.10")
    assert other.post("/reports/public/", _public()).status_code == 302  # another address is not affected
    assert Report.objects.count() == 4


# --- partner API ---------------------------------------------------------------------------------------


def _payload(**overrides):
    return {
        "external_id": "QX-2026-0001",
        "situation": "abuse_injury",
        "description": "来电反映邻居家孩子经常被打，身上有伤。",
        "minor_name": "李小军",
        "minor_sex": "M",
        "minor_birth_date": "2015-06-01",
        "minor_street": B1,
        "immediate_danger": True,
    } | overrides


def _post(token, payload, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return Client().post(
        "/api/reports/partner/reports/", payload, content_type="application/json", **headers, **extra
    )


def test_partner_report_is_created_and_a_resend_returns_the_same_report(world):
    channel, token = partner_with_token("12355")
    first = _post(token, _payload())
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["number"].startswith("BG") and body["status"] == Status.RECEIVED
    report = Report.objects.get()
    assert report.partner == channel and report.urgency == "urgent" and report.workstation.area == area(B1)
    again = _post(token, _payload(description="再次发送，内容有变化也不会新建报告。"))
    assert again.status_code == 200 and again.json()["uuid"] == body["uuid"]
    assert Report.objects.count() == 1
    assert list(Submission.objects.order_by("pk").values_list("detail", flat=True)) == [
        "",
        "resend QX-2026-0001",
    ]
    other_channel, other_token = partner_with_token("12309")
    separate = _post(other_token, _payload())  # the same external id from another channel is another report
    assert separate.status_code == 201 and Report.objects.count() == 2
    status = (
        Client()
        .get("/api/reports/partner/reports/QX-2026-0001/", HTTP_AUTHORIZATION=f"Bearer {token}")
        .json()
    )
    assert status["number"] == body["number"] and status["feedback"] == ""
    missing = Client().get("/api/reports/partner/reports/nope/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "token",
    [None, "", "wbp_wrong", "wb_notapartnertoken", "two words"],
)
def test_bad_partner_tokens_are_refused(world, token):
    partner_with_token("12355")
    response = _post(token, _payload()) if token != "two words" else Client().post(
        "/api/reports/partner/reports/", _payload(), content_type="application/json",
        HTTP_AUTHORIZATION="Bearer two words",
    )  # fmt: skip
    assert response.status_code in (401, 403)
    assert response.json()["detail"] and Report.objects.count() == 0


def test_inactive_channel_and_staff_tokens_are_refused(world):
    channel, token = partner_with_token("12355")
    channel.is_active = False
    channel.save()
    assert _post(token, _payload()).status_code == 401
    assert AuditEvent.objects.filter(action="denied", object_type="reports.partnerchannel").exists()
    client = Client()
    verify_second_factor(client, world.users["city"])  # a staff session is not a partner
    response = client.post("/api/reports/partner/reports/", _payload(), content_type="application/json")
    assert response.status_code in (401, 403)


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"external_id": ""}, "external_id"),
        ({"external_id": "有空格 的编号"}, "external_id"),
        ({"situation": "bad"}, "situation"),
        ({"description": "短"}, "description"),
        ({"description": "http://a.example http://b.example"}, "description"),
        ({"minor_street": "999999999"}, "minor_street"),
        ({"minor_street": None}, "minor_street"),
        ({"minor_birth_date": "2015-13-01"}, "minor_birth_date"),
        ({"minor_id_number": "310101201506010000"}, "minor_id_number"),
        ({"minor_id_number": id_number(1, "20140101")}, "minor_id_number"),
        ({"minor_age": 30}, "minor_age"),
        ({"immediate_danger": "maybe"}, "immediate_danger"),
        ({"occurred_at": "2999-01-01T00:00:00+08:00"}, "occurred_at"),
    ],
)
def test_bad_partner_payloads_name_the_field_and_are_kept(world, overrides, field):
    _channel, token = partner_with_token("suishenban")
    response = _post(token, _payload(**overrides))
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    kept = Submission.objects.get()
    assert not kept.accepted and kept.refusal in (Refusal.INVALID, Refusal.EMPTY, Refusal.SPAM)
    assert Report.objects.count() == 0


def test_non_object_payloads_are_a_clear_400(world):
    _channel, token = partner_with_token("12355")
    for body in ("[1, 2]", "not json", '"text"'):
        response = Client().post(
            "/api/reports/partner/reports/",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 400 and response.json()["detail"]


def test_partner_rate_limit(world, settings):
    settings.REPORTS = {"PARTNER_RATE": (2, 3600)}
    _channel, token = partner_with_token("12355")
    assert _post(token, _payload(external_id="1")).status_code == 201
    assert _post(token, _payload(external_id="2")).status_code == 201
    refused = _post(token, _payload(external_id="3"))
    assert refused.status_code == 429 and "提交过于频繁" in refused.json()["detail"]
    assert _post(token, _payload(external_id="1")).status_code == 200  # a resend is still answered


def test_partner_token_command(world):
    out = StringIO()
    call_command("partner_token", "12355", stdout=out, stderr=StringIO())
    token = out.getvalue().split(": ")[-1].strip()
    channel = PartnerChannel.objects.get(code="12355")
    assert token.startswith("wbp_") and channel.token_hash == PartnerChannel.hash_token(token)
    assert token not in channel.token_hash
    assert _post(token, _payload()).status_code == 201
    call_command("partner_token", "12355", stdout=StringIO(), stderr=StringIO())  # a new token replaces it
    assert _post(token, _payload(external_id="x2")).status_code == 401
    with pytest.raises(CommandError):
        call_command("partner_token", "nochannel", stdout=StringIO())
    call_command("partner_token", "newline", "--name", "新渠道", stdout=StringIO(), stderr=StringIO())
    assert PartnerChannel.objects.filter(code="newline", name="新渠道").exists()


def test_partner_api_is_in_the_openapi_document(world, tmp_path, capsys):
    call_command("spectacular", "--validate", "--file", str(tmp_path / "schema.yml"))
    warnings = capsys.readouterr().err
    assert (
        "weibao/reports/" not in warnings and "Report" not in warnings and "Partner" not in warnings
    )  # none of ours
    client = Client()
    verify_second_factor(client, world.users["city"])
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/reports/partner/reports/" in schema and "PartnerToken" in schema


# --- drafts and attachments ------------------------------------------------------------------------------


def _staff(world, persona="reporter"):
    client = Client()
    verify_second_factor(client, world.users[persona])
    return client


def test_staff_form_autosaves_a_draft_and_an_error_keeps_everything(world):
    client = _staff(world)
    assert client.get("/reports/new/").status_code == 200
    saved = client.post("/reports/drafts/save/", {"minor_name": "周小北", "description": "学生手臂"})
    assert saved.status_code == 200 and "草稿已保存" in saved.content.decode()
    draft = Draft.objects.get(owner=world.users["reporter"])
    client.post(
        "/reports/drafts/save/", {"draft": str(draft.uuid), "minor_name": "周小北", "description": "更多"}
    )
    assert Draft.objects.count() == 1 and Draft.objects.get().data["description"] == "更多"
    listed = client.get("/reports/").content.decode()
    assert "周小北" in listed and str(draft.uuid) in listed
    assert "周小北" in client.get(f"/reports/new/?draft={draft.uuid}").content.decode()
    bad = client.post("/reports/new/", STAFF | {"draft": str(draft.uuid), "minor_id_number": "123"})
    html = bad.content.decode()
    assert (
        bad.status_code == 200
        and "身份证号码应为18位" in html
        and "继父" in html
        and "学生手臂有淤青" in html
    )
    assert "minor_id_number" not in Draft.objects.get().data  # never kept in clear: the form asks again
    ok = client.post("/reports/new/", STAFF | {"draft": str(draft.uuid), "minor_street": str(area(A1).pk)})
    assert ok.status_code == 302 and Draft.objects.count() == 0
    report = Report.objects.get()
    assert report.reporter_org == world.users["reporter"].active_assignments()[0].organisation
    other = _staff(world, "worker_a1")
    assert other.get(f"/reports/new/?draft={draft.uuid}").status_code == 403  # only mandated reporters file


def test_someone_elses_draft_is_not_found(world):
    draft = Draft.objects.create(owner=world.users["reporter"], data={"minor_name": "x"})
    from weibao.accounts.choices import Role
    from weibao.lib.testing import make_user

    teacher = make_user(
        "teacher9", Role.MANDATED_REPORTER, world.users["reporter"].active_assignments()[0].organisation
    )
    client = Client()
    client.force_login(teacher)
    assert client.get(f"/reports/new/?draft={draft.uuid}").status_code == 404


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "name, content, ok, reason",
    [
        ("photo.jpg", b"\xff\xd8\xff\xe0" + b"0" * 50, True, ""),
        ("scan.pdf", b"%PDF-1.7\n" + b"0" * 50, True, ""),
        ("note.docx", _docx(), True, ""),
        ("photo.png", b"\xff\xd8\xff\xe0" + b"0" * 50, False, "不符"),  # a jpeg named .png
        ("virus.exe", b"MZ" + b"0" * 50, False, "类型不允许"),
        ("fake.pdf", b"<html>not a pdf</html>", False, "不符"),
        ("fake.docx", b"PK\x03\x04garbage", False, "不符"),
        ("big.jpg", b"\xff\xd8\xff\xe0" + b"0" * 3000, False, "超过"),
    ],
)
def test_attachments_are_checked_by_content_extension_and_size(
    world, settings, tmp_path, name, content, ok, reason
):
    settings.MEDIA_ROOT = tmp_path
    settings.REPORTS = {"ATTACHMENT_MAX_BYTES": 2048}
    client = _staff(world)
    upload = SimpleUploadedFile(name, content)
    response = client.post(
        "/reports/new/", STAFF | {"minor_street": str(area(A1).pk), "attachments": [upload]}
    )
    if ok:
        assert response.status_code == 302, response.content.decode()[-2000:]
        item = Attachment.objects.get()
        assert (tmp_path / "reports" / item.path).read_bytes() == content
    else:
        assert response.status_code == 200 and reason in response.content.decode()
        assert Report.objects.count() == 0 and Draft.objects.count() == 1


# --- review fixes -------------------------------------------------------------------------------------------


def test_drafts_never_keep_the_minors_id_number(world):
    client = _staff(world)
    number = id_number(3)
    client.post("/reports/drafts/save/", {"minor_name": "周小北", "minor_id_number": number})
    draft = Draft.objects.get()
    assert draft.data == {"minor_name": "周小北"} and number not in str(draft.data)
    assert number not in client.get(f"/reports/new/?draft={draft.uuid}").content.decode()


def test_a_bad_draft_id_is_no_draft(world):
    client = _staff(world)
    assert client.get("/reports/new/?draft=not-a-uuid").status_code == 404
    saved = client.post("/reports/drafts/save/", {"draft": "not-a-uuid", "minor_name": "周小北"})
    assert saved.status_code == 200 and Draft.objects.get().data["minor_name"] == "周小北"
    kept = Draft.objects.get()
    ok = client.post("/reports/new/", STAFF | {"draft": "not-a-uuid", "minor_street": str(area(A1).pk)})
    assert ok.status_code == 302 and Report.objects.count() == 1  # filed once: no 500 to resubmit after
    assert Draft.objects.get() == kept  # a bad id deletes nothing
    bad = client.post("/reports/new/", STAFF | {"draft": "zz", "minor_id_number": "123"})
    assert bad.status_code == 200 and Draft.objects.count() == 2 and Report.objects.count() == 1


def test_public_report_refused_by_the_model_is_kept_and_shown(world, monkeypatch):
    from django.core.exceptions import ValidationError

    from weibao.reports import services

    def invalid(report, **kwargs):
        raise ValidationError({"minor_street": ["街镇有误"], "minor_id_index": ["索引有误"]})

    monkeypatch.setattr(services, "create_report", invalid)
    response = Client().post("/reports/public/", _public())
    html = response.content.decode()
    assert response.status_code == 200 and "街镇有误" in html and "索引有误" in html
    assert PUBLIC["minor_name"] in html  # nothing typed is lost
    kept = Submission.objects.get()
    assert not kept.accepted and kept.refusal == Refusal.INVALID and Report.objects.count() == 0


def test_a_public_report_with_an_id_number_does_not_touch_the_registry(world):
    from weibao.registry.models import DepartmentLink, IdentityDocument, Person

    persons, links = Person.all_objects.count(), DepartmentLink.objects.count()
    response = Client().post(
        "/reports/public/",
        _public(situation="under14_sexual", minor_id_number=id_number(7), minor_birth_date="2015-06-01"),
    )
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.minor_id_index and report.person is None  # a handler links it (link_to_person)
    assert Person.all_objects.count() == persons and DepartmentLink.objects.count() == links
    assert not IdentityDocument.objects.filter(number_index=report.minor_id_index).exists()


def test_a_partner_report_with_an_id_number_does_not_touch_the_registry(world):
    from weibao.registry.models import Person

    persons = Person.all_objects.count()
    _channel, token = partner_with_token("12355")
    assert _post(token, _payload(minor_id_number=id_number(8))).status_code == 201
    assert Report.objects.get().person is None and Person.all_objects.count() == persons


def test_partner_resend_matches_the_trimmed_external_id(world):
    _channel, token = partner_with_token("12355")
    first = _post(token, _payload(external_id=" QX-7 "))
    assert first.status_code == 201 and Report.objects.get().external_id == "QX-7"
    again = _post(token, _payload(external_id="QX-7 "))
    assert again.status_code == 200 and again.json()["uuid"] == first.json()["uuid"]
    assert Report.objects.count() == 1
    assert Submission.objects.order_by("-pk").first().detail == "resend QX-7"


@pytest.mark.parametrize("check_first", [True, False])
def test_a_raced_partner_resend_answers_with_the_first_report_and_is_kept(world, monkeypatch, check_first):
    from weibao.reports.api import views as api_views

    _channel, token = partner_with_token("12355")
    first = _post(token, _payload(external_id="QX-9"))
    assert first.status_code == 201
    monkeypatch.setattr(api_views, "_external_id", lambda raw: "")  # the first lookup misses: a race
    if not check_first:  # the constraint is checked by the database only (IntegrityError)
        monkeypatch.setattr(Report, "validate_constraints", lambda self, exclude=None: None)
    again = _post(token, _payload(external_id=" QX-9 "))
    assert again.status_code == 200, again.content
    assert again.json()["uuid"] == first.json()["uuid"] and Report.objects.count() == 1
    kept = Submission.objects.order_by("-pk").first()
    assert Submission.objects.count() == 2 and kept.accepted and kept.detail == "resend QX-9"


def test_a_missing_attachment_file_is_not_found(world, settings, tmp_path):
    from weibao.reports.testing import make_report

    settings.MEDIA_ROOT = tmp_path
    report = make_report(world)
    gone = Attachment.objects.create(
        report=report, filename="x.jpg", kind="jpg", size=1, sha256="0" * 64, path=f"{report.uuid}/gone.jpg"
    )
    outside = Attachment.objects.create(
        report=report, filename="y.jpg", kind="jpg", size=1, sha256="0" * 64, path="../../etc/passwd"
    )
    client = _staff(world, "police_a")
    assert client.get(f"/reports/attachments/{gone.uuid}/").status_code == 404
    assert client.get(f"/reports/attachments/{outside.uuid}/").status_code == 404


def test_attachments_are_removed_when_the_report_fails_after_storing_them(
    world, settings, tmp_path, monkeypatch
):
    import datetime

    from weibao.reports import services
    from weibao.reports.choices import Situation

    settings.MEDIA_ROOT = tmp_path
    user = world.users["reporter"]
    report = Report(
        channel=Channel.STAFF,
        situation=Situation.ABUSE_INJURY,
        description="孩子手臂有多处淤青。",
        minor_name="王小明",
        minor_sex="M",
        minor_birth_date=datetime.date(2015, 6, 1),
        minor_street=area(A1),
        reporter_user=user,
        reporter_org=user.active_assignments()[0].organisation,
        reporter_name=user.username,
    )

    def announce_fails(report):
        raise RuntimeError("notification service down")

    monkeypatch.setattr(services, "_announce", announce_fails)
    photo = SimpleUploadedFile("伤情.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    with pytest.raises(RuntimeError):
        services.create_report(report, actor=user, attachments=[photo])
    assert not Report.objects.exists() and not Attachment.objects.exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_partner_report_that_cannot_be_stored_is_refused_and_kept(world, monkeypatch):
    from django.db import IntegrityError

    from weibao.reports import services

    def broken(report, **kwargs):
        raise IntegrityError("another constraint")

    monkeypatch.setattr(services, "create_report", broken)
    _channel, token = partner_with_token()
    response = _post(token, _payload(external_id="QX-BROKEN"))
    assert response.status_code == 409 and "报告无法保存" in response.content.decode()
    kept = Submission.objects.get()
    assert not kept.accepted and kept.refusal == "invalid" and "QX-BROKEN" in kept.detail
    assert not Report.objects.exists()
