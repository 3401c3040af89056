from django.test import Client

from weibao.feeds import services
from weibao.feeds.models import Event, LandingRecord
from weibao.lib.testing import verify_second_factor

from .helpers import bad_check, edu_feed, id_number, record


def _client(user):
    client = Client()
    verify_second_factor(client, user)
    return client


def test_upload_preview_mapping_report_and_fixing_pages(world, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    feed = edu_feed(world)
    client = _client(world.users["edu_city"])
    assert client.get("/feeds/").status_code == 200
    assert client.get(f"/feeds/{feed.uuid}/").status_code == 200
    content = "编号,身份证号,name,street,occurred_on,days\n"
    content += f"S1,{id_number(1)},张三,310101002,2025-01-02,3\nS2,{bad_check(id_number(2))},李四,310101002,2025-01-02,3\n"
    upload = tmp_path / "f.csv"
    upload.write_bytes(content.encode("gbk"))
    with upload.open("rb") as fh:
        page = client.post(f"/feeds/{feed.uuid}/upload/", {"file": fh})
    assert page.status_code == 200 and "身份证号" in page.content.decode()
    done = client.post(
        f"/feeds/{feed.uuid}/upload/", {"confirm": "1", "map_source_id": "编号", "map_id_number": "身份证号"}
    )
    assert done.status_code == 302
    feed.refresh_from_db()
    assert feed.mapping == {"source_id": "编号", "id_number": "身份证号"}
    assert client.get(done["Location"]).status_code == 200
    assert Event.objects.count() == 1
    landing = LandingRecord.objects.get(status="rejected")
    assert client.get(f"/feeds/needs-fixing/{landing.pk}/").status_code == 200
    response = client.post(
        f"/feeds/needs-fixing/{landing.pk}/", {"fld_id_number": id_number(2), "reason": "核对"}
    )
    assert response.status_code == 302 and Event.objects.count() == 2
    # others cannot reach the record
    services.ingest_records(feed, "k", [record(5, name="")], actor=world.users["edu_city"])
    other = LandingRecord.objects.get(status="rejected")
    assert _client(world.users["police_a"]).get(f"/feeds/needs-fixing/{other.pk}/").status_code == 404
    assert _client(world.users["police_a"]).get(f"/feeds/{feed.uuid}/").status_code == 404
    assert client.post(f"/feeds/needs-fixing/{other.pk}/discard/", {"reason": "重复"}).status_code == 302
    other.refresh_from_db()
    assert other.status == "discarded"


def test_an_unreadable_upload_is_explained_and_not_kept(world, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    feed = edu_feed(world)
    client = _client(world.users["edu_city"])
    upload = tmp_path / "bad.xlsx"
    upload.write_bytes(b"PK\x03\x04 this is no workbook")
    with upload.open("rb") as fh:
        page = client.post(f"/feeds/{feed.uuid}/upload/", {"file": fh}, follow=True)
    assert page.status_code == 200
    kept = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert kept == []
