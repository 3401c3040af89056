"""Text no database can store (NUL, lone surrogates) in a feed; landing rows shown whole or masked; reasons
too long; the ingest command's arguments."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from weibao.accounts.choices import Role
from weibao.audit.models import AuditEvent
from weibao.feeds import pipeline, services
from weibao.feeds.models import Batch, Event, LandingRecord
from weibao.lib.masking import mask_id_number
from weibao.lib.testing import CITY, make_user, org, signed_in

from .helpers import bad_check, edu_feed, id_number, record

HEADER = "source_id,id_number,name,sex,birth_date,street,occurred_on,days,note\n"


def _line(serial: int, name: str = "张三", note: str = "") -> str:
    r = record(serial)
    return f"{r['source_id']},{r['id_number']},{name},女,2015-06-01,{r['street']},2025-03-01,5,{note}\n"


def _errors(batch) -> dict:
    return {lr.row_number: lr.errors for lr in LandingRecord.objects.filter(batch=batch, status="rejected")}


def test_a_nul_in_a_csv_cell_lands_escaped_and_is_rejected_naming_the_field(world, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_text(HEADER + _line(1) + _line(2, name="张\x00三") + _line(3, note="备注\x00") + _line(4))
    feed = edu_feed(world)
    batch = services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=2)
    batch.refresh_from_db()
    assert (batch.status, batch.received, batch.accepted, batch.rejected) == ("done", 4, 2, 2)
    errors = _errors(batch)
    assert list(errors[3]) == ["name"] and "无法保存的字符" in errors[3]["name"][0]
    assert list(errors[4]) == ["note"]  # an unmapped column is named by its header
    assert batch.rejected_by_reason == {"name/unstorable": 1, "note/unstorable": 1}
    stored = LandingRecord.objects.get(batch=batch, row_number=3)
    assert stored.raw["name"] == "张\\x00三" and stored.raw["__unstorable__"] == ["name"]
    # corrected on the needs-fixing list: accepted
    assert services.fix_record(stored, {"name": "张三"}, actor=world.users["edu_city"], reason="核对") == {}
    assert Event.objects.count() == 3


def test_nul_and_lone_surrogates_in_jsonl_land_and_a_resume_rejects_them_again(world, tmp_path, monkeypatch):
    lines = [
        json.dumps(record(1)),
        json.dumps(record(2, name="张\u0000三")),
        json.dumps(record(3, name="\ud800")),
        json.dumps({**record(4), "extra": {"nested": "\u0000"}}),
        json.dumps(record(5)),
    ]
    path = tmp_path / "f.jsonl"
    path.write_text("\n".join(lines) + "\n")
    feed = edu_feed(world)
    real = pipeline.write_chunk
    calls = {"n": 0}

    def crash_first(*args, **kwargs):  # everything lands; nothing is stored before the resume
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "write_chunk", crash_first)
    with pytest.raises(RuntimeError):
        services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=10)
    assert LandingRecord.objects.count() == 5
    batch = services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=10)  # from landing
    batch.refresh_from_db()
    assert (batch.status, batch.accepted, batch.rejected) == ("done", 2, 3)
    errors = _errors(batch)
    assert list(errors[2]) == ["name"] and list(errors[3]) == ["name"] and list(errors[4]) == ["extra"]
    assert LandingRecord.objects.get(row_number=3).raw["name"] == "\\ud800"
    assert json.loads(LandingRecord.objects.get(row_number=4).raw["extra"]) == {"nested": "\x00"}


@pytest.mark.parametrize(
    "body, where",
    [
        ({"idempotency_key": "k", "records": [record(1), record(2, name="张\u0000三")]}, "records[1].name"),
        ({"idempotency_key": "k", "records": [{**record(1), "bad\u0000key": "x"}]}, "records[0].bad\x00key"),
        ({"idempotency_key": "k\ud800", "records": [record(1)]}, "idempotency_key"),
    ],
)
def test_the_api_refuses_text_no_database_can_store_naming_where(world, body, where):
    edu_feed(world)
    response = signed_in(world.users["edu_city"]).post(
        "/api/feeds/edu_absence/batches/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    (field,) = response.json()["errors"]
    assert field == where and "无法保存的字符" in response.json()["errors"][field][0]
    assert not Batch.objects.exists()


def _rejected_row(world):
    feed = edu_feed(world)
    batch, _ = services.ingest_records(
        feed, "k", [record(1), record(2, id_number=bad_check(id_number(2)))], actor=world.users["edu_city"]
    )
    return LandingRecord.objects.get(batch=batch, status="rejected")


def test_landing_rows_show_identifiers_whole_to_the_sender_and_masked_to_a_plain_city_office(world):
    landing = _rejected_row(world)
    sent = bad_check(id_number(2))
    plain = make_user("city_plain", Role.CITY_OFFICE, org("committee_office", CITY))
    for user, shown, action in [
        (world.users["edu_city"], sent, "view_full_id"),  # the sender
        (world.users["city"], sent, "view_full_id"),  # city office, may see whole ID numbers
        (plain, mask_id_number(sent), "view"),
    ]:
        client = signed_in(user)
        listed = client.get("/api/feeds/landing-records/").json()["results"]
        assert [(r["raw"]["id_number"], r["masked"]) for r in listed] == [(shown, action == "view")]
        one = client.get(f"/api/feeds/landing-records/{landing.pk}/").json()
        assert one["raw"]["id_number"] == shown
        page = client.get(f"/feeds/needs-fixing/{landing.pk}/")
        assert page.status_code == 200 and shown in page.content.decode()
        assert (sent in page.content.decode()) is (action == "view_full_id")
        assert (
            AuditEvent.objects.filter(actor=user, action=action, object_type="feeds.landingrecord").count()
            == 3
        )


def test_accepted_landing_rows_are_not_served(world):
    landing = _rejected_row(world)
    accepted = LandingRecord.objects.exclude(pk=landing.pk).get()
    client = signed_in(world.users["edu_city"])
    wrong = client.get("/api/feeds/landing-records/", {"status": "accepted"})
    assert wrong.status_code == 400 and "status" in wrong.json()["errors"]
    assert client.get(f"/api/feeds/landing-records/{accepted.pk}/").status_code == 404
    assert client.get(f"/feeds/needs-fixing/{accepted.pk}/").status_code == 404


def test_a_fix_that_still_fails_is_audited_and_a_reason_too_long_is_refused(world):
    landing = _rejected_row(world)
    user = world.users["edu_city"]
    errors = services.fix_record(landing, {"id_number": "1"}, actor=user, reason="再试")
    assert list(errors) == ["id_number"]
    (event,) = AuditEvent.objects.filter(action="update", object_type="feeds.landingrecord")
    assert event.extra["still_rejected"] == errors and event.reason == "再试"
    client = signed_in(user)
    response = client.post(
        f"/feeds/needs-fixing/{landing.pk}/", {"fld_id_number": id_number(2), "reason": "长" * 501}
    )
    assert response.status_code == 200 and "不能超过 500 个字符" in response.content.decode()
    landing.refresh_from_db()
    assert landing.status == "rejected"
    api = client.post(
        f"/api/feeds/landing-records/{landing.pk}/discard/",
        {"reason": "长" * 501},
        content_type="application/json",
    )
    assert api.status_code == 400 and "reason" in api.json()["errors"]
    response = client.post(f"/feeds/needs-fixing/{landing.pk}/discard/", {"reason": "长" * 501})
    landing.refresh_from_db()
    assert response.status_code == 302 and landing.status == "rejected"


def test_ingest_command_refuses_a_missing_file_and_a_bad_chunk_size(world, tmp_path):
    edu_feed(world)
    with pytest.raises(CommandError, match="找不到文件"):
        call_command("ingest", str(tmp_path / "missing.csv"), feed="edu_absence", stdout=io.StringIO())
    path = tmp_path / "f.csv"
    path.write_text(HEADER + _line(1))
    for size in ("0", "-5", "x"):
        with pytest.raises(CommandError, match="chunk-size"):
            call_command("ingest", str(path), "--chunk-size", size, feed="edu_absence", stdout=io.StringIO())
    assert not Batch.objects.exists()
