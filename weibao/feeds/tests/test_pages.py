import io

import pytest
from django.core.exceptions import PermissionDenied

from weibao.feeds import services
from weibao.feeds.models import Event, LandingRecord
from weibao.lib.testing import signed_in

from .helpers import bad_check, edu_feed, id_number, record


def test_upload_preview_mapping_report_and_fixing_pages(world, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    feed = edu_feed(world)
    client = signed_in(world.users["edu_city"])
    assert client.get("/feeds/").status_code == 200
    assert client.get(f"/feeds/{feed.uuid}/").status_code == 200
    content = "编号,身份证号,name,street,occurred_on,days\n"
    content += f"S1,{id_number(1)},张三,310101002,2025-01-02,3\nS2,{bad_check(id_number(2))},李四,310101002,2025-01-02,3\n"
    upload = tmp_path / "f.csv"
    upload.write_bytes(content.encode("gbk"))
    with upload.open("rb") as fh:
        page = client.post(f"/feeds/{feed.uuid}/upload/", {"file": fh})
    assert page.status_code == 200 and "身份证号" in page.content.decode()
    mapping = {"map_source_id": "编号", "map_id_number": "身份证号"}
    assert client.post(f"/feeds/{feed.uuid}/upload/", {"confirm": "1", **mapping}).status_code == 302
    feed.refresh_from_db()
    assert feed.mapping == {}  # no upload named: nothing saved, nothing imported
    done = client.post(
        f"/feeds/{feed.uuid}/upload/", {"confirm": "1", "upload": page.context["upload"], **mapping}
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
    assert signed_in(world.users["police_a"]).get(f"/feeds/needs-fixing/{other.pk}/").status_code == 404
    assert signed_in(world.users["police_a"]).get(f"/feeds/{feed.uuid}/").status_code == 404
    assert client.post(f"/feeds/needs-fixing/{other.pk}/discard/", {"reason": "重复"}).status_code == 302
    other.refresh_from_db()
    assert other.status == "discarded"


def test_an_unreadable_upload_is_explained_and_not_kept(world, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    feed = edu_feed(world)
    client = signed_in(world.users["edu_city"])
    upload = tmp_path / "bad.xlsx"
    upload.write_bytes(b"PK\x03\x04 this is no workbook")
    with upload.open("rb") as fh:
        page = client.post(f"/feeds/{feed.uuid}/upload/", {"file": fh}, follow=True)
    assert page.status_code == 200
    kept = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert kept == []


def _upload(client, feed, path, mapping=None):
    with path.open("rb") as fh:
        client.post(f"/feeds/{feed.uuid}/upload/", {"file": fh})
    token, pending = list(client.session["feeds_uploads"].items())[-1]
    stored = pending["path"]
    confirm = {
        "confirm": "1",
        "upload": token,
        "map_source_id": "编号",
        "map_id_number": "身份证号",
        **(mapping or {}),
    }
    return stored, client.post(f"/feeds/{feed.uuid}/upload/", confirm, follow=True)


def _absence_file(tmp_path, *, id_column="身份证号"):
    upload = tmp_path / "f.csv"
    upload.write_bytes(
        f"编号,{id_column},name,street,occurred_on,days\nS1,{id_number(1)},张三,310101002,2025-01-02,3\n".encode(
            "gbk"
        )
    )
    return upload


QUEUED = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}  # enqueued, not run
AT_ONCE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def test_an_upload_is_ingested_by_the_task_worker_and_the_report_follows_it(world, tmp_path, settings):
    from pathlib import Path

    from django.tasks import default_task_backend

    from weibao.feeds.choices import BatchStatus
    from weibao.feeds.models import Batch

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = QUEUED
    feed = edu_feed(world)
    client = signed_in(world.users["edu_city"])
    upload = _absence_file(tmp_path)
    stored, page = _upload(client, feed, upload)
    batch = Batch.objects.get(feed=feed)
    (copy,) = services.upload_copies(batch)  # the upload, renamed after its batch
    html = page.content.decode()
    assert (
        batch.status == BatchStatus.RECEIVING and not Path(stored).exists() and batch.file_path == str(copy)
    )
    assert "正在后台导入" in html and "排队等待导入" in html and 'hx-trigger="every 2s"' in html
    # a colleague saves another mapping before the worker runs: the queued file keeps the one it was sent with
    feed.mapping = {"id_number": "证件"}
    feed.save(update_fields=["mapping"])
    (queued,) = default_task_backend.results
    queued.task.call(*queued.args, **queued.kwargs)  # what the worker does
    batch.refresh_from_db()
    assert (batch.status, batch.accepted) == (BatchStatus.DONE, 1) and services.upload_copies(batch) == []
    html = client.get(f"/feeds/batches/{batch.uuid}/").content.decode()
    assert "hx-trigger" not in html and "排队等待导入" not in html
    again, page = _upload(client, feed, upload)
    assert "该文件已导入过" in page.content.decode() and not Path(again).exists()
    assert Batch.objects.filter(feed=feed).count() == 1 and Event.objects.count() == 1


def test_a_waiting_or_interrupted_upload_is_resumed_by_a_new_upload(world, tmp_path, settings):
    from weibao.feeds.choices import BatchStatus
    from weibao.feeds.models import Batch

    settings.MEDIA_ROOT = tmp_path / "media"
    feed = edu_feed(world)
    client = signed_in(world.users["edu_city"])
    upload = _absence_file(tmp_path)
    settings.TASKS = QUEUED
    _upload(client, feed, upload)
    batch = Batch.objects.get(feed=feed)
    _upload(client, feed, upload)  # it waits: another task, another copy; either one finishes it
    assert len(services.upload_copies(batch)) == 2
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.INTERRUPTED)  # the worker was killed
    settings.TASKS = AT_ONCE
    _stored, page = _upload(client, feed, upload)
    batch.refresh_from_db()
    assert (batch.status, batch.accepted) == (BatchStatus.DONE, 1)
    assert (
        services.upload_copies(batch) == [] and Event.objects.count() == 1
    )  # every copy gone, nothing doubled
    assert 'id="batch-interrupted"' not in page.content.decode()


def test_a_failure_before_the_claim_leaves_the_batch_interrupted_with_the_reason(world, tmp_path, settings):
    from weibao.accounts.models import RoleAssignment
    from weibao.feeds.choices import BatchStatus
    from weibao.feeds.models import Batch

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = QUEUED
    feed = edu_feed(world)
    user = world.users["edu_city"]
    client = signed_in(user)
    _upload(client, feed, _absence_file(tmp_path))
    batch = Batch.objects.get(feed=feed)
    RoleAssignment.objects.filter(user=user).delete()  # the sender lost the role before the worker ran
    from django.tasks import default_task_backend

    (queued,) = default_task_backend.results
    with pytest.raises(PermissionDenied):
        queued.task.call(*queued.args, **queued.kwargs)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.INTERRUPTED and "PermissionDenied" in batch.message
    assert len(services.upload_copies(batch)) == 1  # kept, to be resumed by someone who may send


def test_resuming_from_the_page_never_deletes_a_file_the_command_line_ingested(world, tmp_path, settings):
    from weibao.feeds.choices import BatchStatus
    from weibao.feeds.models import Batch

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = AT_ONCE
    feed = edu_feed(world)
    original = _absence_file(tmp_path)
    feed.mapping = {"source_id": "编号", "id_number": "身份证号"}
    feed.save(update_fields=["mapping"])
    batch = services.ingest_file(feed, original, actor=world.users["edu_city"])
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.INTERRUPTED)  # as if killed mid-file
    copy = tmp_path / "copy" / "f.csv"
    copy.parent.mkdir()
    copy.write_bytes(original.read_bytes())
    _upload(signed_in(world.users["edu_city"]), feed, copy)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and original.exists()  # the operator's own file is untouched


def _post_file(client, feed, name: str, content: bytes):
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(f"/feeds/{feed.uuid}/upload/", {"file": upload})


def test_two_previews_side_by_side_each_import_their_own_file(world, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = AT_ONCE
    feed = edu_feed(world)
    client = signed_in(world.users["edu_city"])
    header = "source_id,id_number,name,street,occurred_on,days\n"
    first = _post_file(
        client, feed, "a.csv", f"{header}A1,{id_number(1)},张三,310101002,2025-01-02,3\n".encode()
    )
    second = _post_file(
        client, feed, "b.csv", f"{header}B1,{id_number(2)},李四,310101002,2025-01-02,3\n".encode()
    )
    assert first.context["upload"] != second.context["upload"]
    client.post(f"/feeds/{feed.uuid}/upload/", {"confirm": "1", "upload": first.context["upload"]})
    assert list(Event.objects.values_list("source_record__source_id", flat=True)) == ["A1"]
    client.post(f"/feeds/{feed.uuid}/upload/", {"confirm": "1", "upload": second.context["upload"]})
    assert sorted(Event.objects.values_list("source_record__source_id", flat=True)) == ["A1", "B1"]


def test_an_upload_of_an_unknown_kind_or_long_name_is_refused_before_anything_is_written(
    world, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    feed = edu_feed(world)
    client = signed_in(world.users["edu_city"])
    for name in ("名单." + "长" * 85, "名单.exe"):
        page = _post_file(client, feed, name, b"a,b\n1,2\n")
        assert page.status_code == 200 and "只支持 CSV、XLSX 或 JSONL" in page.content.decode()
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]


def test_previews_never_confirmed_are_deleted(world, tmp_path, settings):
    import os

    from weibao.feeds.views import MAX_PENDING

    settings.MEDIA_ROOT = tmp_path / "media"
    feed = edu_feed(world)
    client = signed_in(world.users["edu_city"])
    for i in range(MAX_PENDING + 2):
        _post_file(client, feed, f"{i}.csv", b"source_id,name\n1,x\n")
    kept = sorted(services.upload_dir().glob(f"{services.PENDING_PREFIX}*"))
    assert len(kept) == MAX_PENDING == len(client.session["feeds_uploads"])  # the two oldest are gone
    old = kept[0]
    os.utime(old, (0, 0))  # a day and more ago: abandoned, whatever session it belonged to
    _post_file(client, feed, "new.csv", b"source_id,name\n1,x\n")
    assert not old.exists()
