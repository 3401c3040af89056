"""Registering feeds and editing the event catalogue from the UI: data, validated, audited, scoped."""

import pytest
from django.urls import reverse

from weibao.audit.models import AuditEvent
from weibao.feeds.models import EventType, Feed
from weibao.lib.testing import verify_second_factor

pytestmark = pytest.mark.django_db


def test_city_office_registers_a_feed_for_a_department(client, world):
    verify_second_factor(client, world.users["city"])
    assert "登记报送渠道" in client.get(reverse("feeds:feed_list")).content.decode()
    police = world.orgs["police_a"]
    dv = EventType.objects.get(code="police_dv_callout")
    response = client.post(
        reverse("feeds:feed_add"),
        {
            "code": "hp_dv",
            "name": "黄浦家暴警情",
            "owner": police.pk,
            "carries": "events",
            "event_type": dv.pk,
            "schema_version": 1,
            "is_active": "on",
        },
    )
    feed = Feed.objects.get(code="hp_dv")
    assert response.status_code == 302 and feed.owner == police
    assert AuditEvent.objects.filter(action="create", object_type="feeds.feed").exists()


def test_feed_registration_errors_sit_beside_the_fields(client, world):
    verify_second_factor(client, world.users["city"])
    school_type = EventType.objects.get(code="edu_absence")
    response = client.post(
        reverse("feeds:feed_add"),
        {
            "code": "bad",
            "name": "x",
            "owner": world.orgs["police_a"].pk,
            "carries": "events",
            "event_type": school_type.pk,
            "schema_version": 1,
        },
    )
    body = response.content.decode()
    assert response.status_code == 200 and "无权报送此类事件" in body
    response = client.post(
        reverse("feeds:feed_add"),
        {
            "code": "bad2",
            "name": "x",
            "owner": world.orgs["police_a"].pk,
            "carries": "events",
            "schema_version": 1,
        },
    )
    assert "须指定事件类型" in response.content.decode()


def test_departments_cannot_register_feeds(client, world):
    verify_second_factor(client, world.users["police_a"])
    assert client.get(reverse("feeds:feed_add")).status_code == 403


def test_event_catalogue_is_edited_with_validation_and_audit(client, world):
    verify_second_factor(client, world.users["city"])
    assert "家庭暴力警情" in client.get(reverse("feeds:eventtype_list")).content.decode()
    dv = EventType.objects.get(code="police_dv_callout")
    page = client.get(reverse("feeds:eventtype_edit", args=[dv.pk])).content.decode()
    assert "case_number|string|0|警情编号|" in page
    data = {
        "code": dv.code,
        "name": dv.name,
        "name_en": dv.name_en,
        "domain": dv.domain,
        "sort_order": 110,
        "is_active": "on",
        "department_types": [t.pk for t in dv.department_types.all()],
    }
    bad = client.post(
        reverse("feeds:eventtype_edit", args=[dv.pk]), data | {"fields_text": "Case No|string|0|警情编号|"}
    )
    assert bad.status_code == 200 and "第 1 行" in bad.content.decode()
    bad = client.post(
        reverse("feeds:eventtype_edit", args=[dv.pk]), data | {"fields_text": "injury|colour|0|伤情|"}
    )
    assert "未知的字段类型" in bad.content.decode()
    ok = client.post(
        reverse("feeds:eventtype_edit", args=[dv.pk]),
        data | {"fields_text": "case_number|string|1|警情编号|\nseverity|choice|0|严重程度|轻/中/重"},
    )
    assert ok.status_code == 302
    dv.refresh_from_db()
    assert dv.fields["case_number"]["required"] is True and dv.fields["severity"]["choices"] == [
        "轻",
        "中",
        "重",
    ]
    assert AuditEvent.objects.filter(action="update", object_type="feeds.eventtype").exists()


def test_only_city_roles_edit_the_catalogue(client, world):
    verify_second_factor(client, world.users["police_a"])
    assert client.get(reverse("feeds:eventtype_list")).status_code == 403


def test_reading_landing_rows_through_the_api_is_audited(client, world):
    from weibao.feeds.tests.helpers import bad_check, id_number, police_feed, record

    feed = police_feed(world)
    verify_second_factor(client, world.users["police_a"])
    records = [record(2, id_number=bad_check(id_number(2)))]
    client.post(
        f"/api/feeds/{feed.code}/batches/",
        {"idempotency_key": "k", "records": records},
        content_type="application/json",
    )
    rows = client.get("/api/feeds/landing-records/").json()["results"]
    assert len(rows) == 1
    client.get(f"/api/feeds/landing-records/{rows[0]['id']}/")
    assert AuditEvent.objects.filter(action="view_full_id", object_type="feeds.landingrecord").count() == 2


def test_new_persons_of_a_batch_are_linked_in_the_background(
    client, world, django_capture_on_commit_callbacks
):
    """A record without an ID number of a child already in the registry: linkage merges it after the batch."""
    import datetime

    from weibao.feeds.tests.helpers import police_feed, record
    from weibao.lib.testing import A1, area
    from weibao.registry.models import Person

    born = datetime.date(2015, 6, 1)
    for i in range(30):  # some background population for the model's comparisons
        Person.objects.create(
            name=f"路人{i}", sex="M", birth_date=born - datetime.timedelta(days=40 * i + 3), street=area(A1)
        )
    known = Person.objects.create(
        name="张三",
        sex="F",
        birth_date=born,
        street=area(A1),
        phone="13912345678",
        address="南京东路100弄3号",
    )
    feed = police_feed(world)
    verify_second_factor(client, world.users["police_a"])
    rec = record(1, id_number=None, phone="13912345678", address="南京东路100弄3号")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/feeds/{feed.code}/batches/",
            {"idempotency_key": "k", "records": [rec]},
            content_type="application/json",
        )
    assert response.status_code == 201
    new = Person.all_objects.exclude(pk=known.pk).get(name="张三")
    assert new.merged_into_id == known.pk  # same name, birth date, street, address and phone: linked


def test_upload_is_not_kept_in_clear_and_a_lost_file_is_explained(client, world, tmp_path, settings):
    import io
    from pathlib import Path

    from weibao.feeds.tests.helpers import police_feed

    settings.MEDIA_ROOT = tmp_path
    feed = police_feed(world)
    verify_second_factor(client, world.users["police_a"])
    url = reverse("feeds:feed_upload", args=[feed.uuid])
    upload = io.BytesIO(
        "source_id,name,sex,birth_date,street,occurred_on\nA1,王小花,女,2015-06-01,310101002,2026-11-01\n".encode(
            "gbk"
        )
    )
    upload.name = "a.csv"
    client.post(url, {"file": upload})
    ((token, pending),) = client.session["feeds_uploads"].items()
    stored = Path(pending["path"])
    assert stored.exists()
    response = client.post(url, {"confirm": "1", "upload": token})
    assert response.status_code == 302 and not stored.exists()
    upload.seek(0)
    client.post(url, {"file": upload})
    ((token, pending),) = client.session["feeds_uploads"].items()
    Path(pending["path"]).unlink()
    lost = client.post(url, {"confirm": "1", "upload": token}, follow=True)
    assert "已失效" in lost.content.decode()
