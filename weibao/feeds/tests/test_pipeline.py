import csv
import io
import json
import threading
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from weibao.audit.models import AuditEvent
from weibao.audit.references import dangling as check_references
from weibao.feeds import pipeline, services
from weibao.feeds.models import Batch, Event, LandingRecord, SourceRecord
from weibao.feeds.protect import received
from weibao.lib.bulk import is_postgres
from weibao.lib.testing import A1, DISTRICT_A
from weibao.registry.models import DepartmentLink, IdentityDocument, Person

from .helpers import bad_check, edu_feed, id_number, police_feed, record


def _errors(batch):
    return {
        lr.row_number: lr.errors
        for lr in LandingRecord.objects.filter(batch=batch, status="rejected").order_by("row_number")
    }


def test_valid_records_become_source_records_persons_events_and_links(world):
    feed = edu_feed(world)
    batch, created = services.ingest_records(
        feed,
        "k1",
        [record(1), record(2, name="李四"), record(3, id_number=id_number(1))],
        actor=world.users["edu_city"],
    )
    batch.refresh_from_db()
    assert created and batch.status == "done"
    assert (batch.received, batch.accepted, batch.rejected) == (3, 3, 0)
    # rows 1 and 3 carry the same ID number: one person, two events
    assert Person.objects.filter(name__in=["张三", "李四"]).count() == 2
    person = IdentityDocument.objects.get(
        number_index=SourceRecord.objects.get(source_id="S1").data["id_index"]
    ).person
    assert person.name_pinyin == "zhangsan" and person.name_initials == "zs" and person.street.code == A1
    assert Event.objects.filter(person=person).count() == 2
    assert Event.objects.get(source_record__source_id="S2").data == {"days": 5}
    assert DepartmentLink.objects.filter(person=person, organisation=feed.owner, basis="sent").count() == 1
    assert LandingRecord.objects.with_status("accepted").filter(batch=batch).count() == 3
    assert {r.shown_status for r in LandingRecord.objects.filter(batch=batch)} == {"accepted"}
    assert "id_number" not in json.dumps(SourceRecord.objects.get(source_id="S1").data).replace(
        "id_number_masked", ""
    )
    assert AuditEvent.objects.filter(action="import", object_id=str(batch.uuid)).count() == 1


def test_existing_person_is_matched_by_id_number(world):
    from weibao.registry.services import add_document

    existing = world.persons["a1"]
    add_document(existing, "mainland_id", id_number(7), actor=world.users["city"])
    batch, _ = services.ingest_records(edu_feed(world), "k", [record(7)], actor=world.users["edu_city"])
    assert Event.objects.get().person == existing
    assert Person.objects.filter(name="张三").count() == 0


@pytest.mark.parametrize(
    "overrides, field, code",
    [
        ({"id_number": bad_check(id_number(1))}, "id_number", "check_char"),
        ({"id_number": "31010120150601"}, "id_number", "invalid"),
        ({"birth_date": "2015-02-30"}, "birth_date", "impossible_date"),
        ({"birth_date": "2099-01-01", "id_number": None}, "birth_date", "future_date"),
        ({"occurred_on": "2999-01-01"}, "occurred_on", "future_date"),
        ({"occurred_on": "yesterday"}, "occurred_on", "invalid"),
        ({"birth_date": "2015-06-02"}, "birth_date", "mismatch"),
        ({"street": "310199999"}, "street", "unknown_area"),
        ({"street": "999999"}, "street", "unknown_area"),
        ({"name": ""}, "name", "required"),
        ({"source_id": None}, "source_id", "required"),
        ({"occurred_on": None}, "occurred_on", "required"),
        ({"days": None}, "days", "required"),
        ({"days": "five"}, "days", "wrong_type"),
        ({"name": ["张三"]}, "name", "wrong_type"),
        ({"sex": "X"}, "sex", "unknown_choice"),
        ({"name": "张" * 51}, "name", "too_long"),
        ({"address": "路" * 100_000}, "address", "too_long"),
    ],
)
def test_bad_input_is_rejected_with_the_field_and_reason_and_kept(world, overrides, field, code):
    batch, _ = services.ingest_records(
        edu_feed(world), "k", [record(1, **overrides), record(2)], actor=world.users["edu_city"]
    )
    batch.refresh_from_db()
    assert (batch.received, batch.accepted, batch.rejected) == (2, 1, 1)
    assert batch.rejected_by_reason == {f"{field}/{code}": 1}
    errors = _errors(batch)[1]
    assert list(errors) == [field] and all(message for message in errors[field])
    landing = LandingRecord.objects.get(batch=batch, row_number=1)
    assert received(landing.raw) == record(1, **overrides)  # exactly as received (identifiers decrypted)
    if overrides.get("id_number", "") is not None:
        assert record(1, **overrides)["id_number"] not in json.dumps(landing.raw)  # never stored in clear


def test_district_code_is_accepted_without_a_street(world):
    services.ingest_records(
        edu_feed(world), "k", [record(1, street=DISTRICT_A)], actor=world.users["edu_city"]
    )
    source = SourceRecord.objects.get()
    assert source.person.street is None and source.data["district"] == DISTRICT_A


def test_resend_with_same_key_returns_the_original_batch_and_writes_nothing(world):
    feed = edu_feed(world)
    user = world.users["edu_city"]
    first, created = services.ingest_records(feed, "same", [record(1), record(2)], actor=user)
    again, created_again = services.ingest_records(
        feed, "same", [record(1), record(2), record(3)], actor=user
    )
    assert created and not created_again and again.pk == first.pk
    assert Event.objects.count() == 2 and LandingRecord.objects.count() == 2


def test_same_source_id_same_content_is_a_silent_duplicate_different_content_is_rejected(world):
    feed = edu_feed(world)
    user = world.users["edu_city"]
    services.ingest_records(feed, "a", [record(1), record(2)], actor=user)
    batch, _ = services.ingest_records(feed, "b", [record(1), record(2, days="9"), record(1)], actor=user)
    batch.refresh_from_db()
    assert (batch.accepted, batch.duplicates, batch.rejected) == (0, 2, 1)
    assert batch.rejected_by_reason == {"source_id/conflict": 1}
    assert Event.objects.count() == 2 and SourceRecord.objects.count() == 2


def _csv(rows, encoding="utf-8", header=None):
    buffer = io.StringIO()
    header = header or list(rows[0])
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_each_encoding(world, tmp_path, encoding):
    path = tmp_path / "feed.csv"
    path.write_bytes(_csv([record(i, name="欧阳娜娜") for i in range(1, 4)], encoding))
    batch = services.ingest_file(edu_feed(world), path, actor=world.users["edu_city"])
    assert (batch.status, batch.accepted, batch.rejected) == ("done", 3, 0)
    assert set(Person.objects.filter(source_records__isnull=False).values_list("name", flat=True)) == {
        "欧阳娜娜"
    }
    assert batch.encoding in {"utf-8", "utf-8-sig", "gb18030"}


def test_xlsx_and_jsonl_files(world, tmp_path):
    from openpyxl import Workbook

    feed = edu_feed(world)
    workbook = Workbook()
    sheet = workbook.active
    columns = list(record(1))
    sheet.append(columns)
    for i in (1, 2):
        sheet.append([record(i)[c] for c in columns])
    sheet.append([None] * len(columns))  # an empty row
    workbook.save(tmp_path / "feed.xlsx")
    batch = services.ingest_file(feed, tmp_path / "feed.xlsx", actor=world.users["edu_city"])
    assert (batch.accepted, batch.rejected) == (2, 0)
    lines = [json.dumps(record(i), ensure_ascii=False) for i in (3, 4)] + ["", "{not json", "[1, 2]"]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")
    batch = services.ingest_file(feed, tmp_path / "feed.jsonl", actor=world.users["edu_city"])
    assert (batch.received, batch.accepted, batch.rejected) == (4, 2, 2)
    assert batch.rejected_by_reason == {"record/unparsed": 2}
    assert received(LandingRecord.objects.get(batch=batch, row_number=4).raw) == {"__unparsed__": "{not json"}


def test_empty_rows_extra_columns_and_mapping(world, tmp_path):
    feed = edu_feed(world)
    feed.mapping = {"id_number": "身份证号", "name": "姓名"}
    feed.save()
    rows = [{**record(i), "身份证号": record(i)["id_number"], "姓名": "王五", "备注": "x"} for i in (1, 2)]
    data = _csv(
        rows, header=["source_id", "身份证号", "姓名", "sex", "street", "occurred_on", "days", "备注"]
    )
    data += b",,,,,,,\n\n" + f"S9,{id_number(9)},王五,女,{A1},2025-01-01,3,,extra1\n".encode()
    (tmp_path / "f.csv").write_bytes(data)
    batch = services.ingest_file(feed, tmp_path / "f.csv", actor=world.users["edu_city"])
    assert (batch.received, batch.accepted, batch.rejected) == (3, 3, 0)
    assert LandingRecord.objects.get(batch=batch, source_id="S1").raw["备注"] == "x"
    assert LandingRecord.objects.get(batch=batch, source_id="S9").raw["__extra__"] == ["extra1"]


def test_file_resend_is_idempotent(world, tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(_csv([record(1), record(2)]))
    feed = edu_feed(world)
    first = services.ingest_file(feed, path, actor=world.users["edu_city"])
    second = services.ingest_file(feed, path, actor=world.users["edu_city"])
    assert first.pk == second.pk and Event.objects.count() == 2 and LandingRecord.objects.count() == 2


def _file_25_good_1_bad(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(
        _csv(
            [record(i, source_id=f"S{i}", id_number=id_number(i)) for i in range(1, 26)]
            + [record(99, id_number=bad_check(id_number(99)))]
        )
    )
    return path


def _resume_and_check_the_26_rows(feed, path, user):
    """The interrupted ``_file_25_good_1_bad`` batch, resumed: every row once, nothing doubled."""
    batch = services.ingest_file(feed, path, actor=user, chunk_size=5)
    batch.refresh_from_db()
    assert (batch.status, batch.received, batch.accepted, batch.rejected) == ("done", 26, 25, 1)
    assert Event.objects.count() == 25 and SourceRecord.objects.count() == 25
    assert LandingRecord.objects.count() == 26 and not LandingRecord.objects.with_status("pending").exists()


def _crash_in_chunk(monkeypatch, n: int, threads: set | None = None, *, step: str = "write_chunk"):
    """``step`` (``write_chunk``: storing, ``land``: landing) fails in the ``n``-th chunk, as a kill would
    (``threads`` collects the names of the threads that ran it); returns the real one, to put back."""
    real = getattr(pipeline, step)
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        if threads is not None:
            threads.add(threading.current_thread().name)
        calls["n"] += 1
        if calls["n"] == n:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, step, crashing)
    return real


def test_resume_after_a_crash_mid_file_loses_and_doubles_nothing(world, tmp_path, monkeypatch):
    path = _file_25_good_1_bad(tmp_path)
    feed = edu_feed(world)
    real = _crash_in_chunk(monkeypatch, 3)
    with pytest.raises(RuntimeError):
        services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=5)
    batch = Batch.objects.get()
    assert batch.status == "interrupted" and batch.landed_through > batch.processed_through
    # what the two stored chunks wrote is audited at once, not only when a resume finishes the batch
    (logged,) = AuditEvent.objects.filter(action="import", object_id=str(batch.uuid))
    assert (logged.extra["status"], logged.extra["accepted"]) == ("interrupted", 10)
    assert "killed" in logged.extra["message"]
    assert LandingRecord.objects.with_status("pending").count() == 5  # landed before the crash, kept
    assert LandingRecord.objects.with_status("accepted").count() == 10
    assert Event.objects.count() == 10
    monkeypatch.setattr(pipeline, "write_chunk", real)
    _resume_and_check_the_26_rows(feed, path, world.users["edu_city"])
    assert Person.objects.filter(source_records__isnull=False).distinct().count() == 25


def test_a_bug_in_validation_keeps_the_row_with_an_internal_error(world, monkeypatch):
    from weibao.feeds.validation import RecordValidator

    real = RecordValidator.validate

    def flaky(self, raw):
        if raw.get("source_id") == "S2":
            raise KeyError("boom")
        return real(self, raw)

    monkeypatch.setattr(RecordValidator, "validate", flaky)
    batch, _ = services.ingest_records(
        edu_feed(world), "k", [record(1), record(2)], actor=world.users["edu_city"]
    )
    batch.refresh_from_db()
    assert batch.rejected_by_reason == {"record/internal": 1}


def test_fix_and_resubmit_or_discard_are_audited(world):
    feed = edu_feed(world)
    user = world.users["edu_city"]
    services.ingest_records(
        feed, "k", [record(1, id_number=bad_check(id_number(1))), record(2, name="")], actor=user
    )
    first, second = LandingRecord.objects.filter(status="rejected").order_by("row_number")
    remaining = services.fix_record(first, {"id_number": "123"}, actor=user)
    assert list(remaining) == ["id_number"]
    assert services.fix_record(first, {"id_number": id_number(1)}, actor=user, reason="核对原件") == {}
    first.refresh_from_db()
    assert first.status == "fixed" and received(first.raw)["id_number"] == bad_check(id_number(1))
    assert id_number(1) not in json.dumps(first.corrected) and received(first.corrected)[
        "id_number"
    ] == id_number(1)
    assert Event.objects.filter(source_record__source_id="S1").exists()
    tried, fix_event = AuditEvent.objects.filter(action="update", object_type="feeds.landingrecord").order_by(
        "seq"
    )
    assert list(tried.extra["still_rejected"]) == ["id_number"]  # the attempt that failed is audited too
    assert fix_event.changes["id_number"][1].startswith("310101") and "*" in fix_event.changes["id_number"][1]
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.discard_record(second, actor=user, reason="")
    services.discard_record(second, actor=user, reason="重复报送")
    second.refresh_from_db()
    assert second.status == "discarded" and second.resolution_reason == "重复报送"
    assert AuditEvent.objects.filter(action="delete", object_type="feeds.landingrecord").count() == 1


def test_a_fixed_record_s_new_person_is_queued_for_linkage(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    """A batch links its new persons once at its end; a record fixed later brings its own to linkage."""
    queued = []
    from weibao.registry import bulk

    monkeypatch.setattr(bulk, "link_new_persons", SimpleNamespace(enqueue=queued.append))
    feed = edu_feed(world)
    user = world.users["edu_city"]
    services.ingest_records(feed, "k", [record(1, id_number=bad_check(id_number(1)))], actor=user)
    landing = LandingRecord.objects.get(status="rejected")
    with django_capture_on_commit_callbacks(execute=True):
        services.fix_record(landing, {"id_number": id_number(1)}, actor=user)
    person = SourceRecord.objects.get(source_id="S1").person_id
    assert queued == [[person]]


def test_ingest_command_prints_the_report_and_fails_on_unreadable_files(world, tmp_path):
    edu_feed(world)
    path = tmp_path / "f.csv"
    path.write_bytes(_csv([record(1), record(2, street="123")]))
    out = io.StringIO()
    call_command("ingest", str(path), feed="edu_absence", username="edu_city", stdout=out)
    text = out.getvalue()
    assert "接收 accepted 1" in text and "未知的区划代码" in text
    out = io.StringIO()
    call_command(
        "ingest", str(path), feed="edu_absence", stdout=out
    )  # the system actor; same file: same batch
    assert Batch.objects.count() == 1
    (tmp_path / "bad.csv").write_bytes(b"\xff\xfe\x00garbage\x81\x00")
    with pytest.raises(CommandError) as raised:
        call_command("ingest", str(tmp_path / "bad.csv"), feed="edu_absence", stdout=io.StringIO())
    assert raised.value.returncode == 1
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(CommandError):
        call_command("ingest", str(tmp_path / "empty.csv"), feed="edu_absence", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("ingest", str(path), feed="nope", stdout=io.StringIO())


def test_sensitive_event_marks_the_person_sensitive(world):
    from weibao.feeds.models import EventType, Feed

    feed = Feed.objects.create(
        code="victims", name="被侵害", owner=world.orgs["police_a"], carries="events",
        event_type=EventType.objects.get(code="police_minor_victim"),
    )  # fmt: skip
    services.ingest_records(feed, "k", [record(1)], actor=world.users["police_a"])
    assert Event.objects.get().person.sensitivity == "sensitive"


def test_person_feed_creates_persons_without_events(world):
    from .helpers import person_feed

    feed = person_feed(world.orgs["police_a"])
    batch, _ = services.ingest_records(
        feed, "k", [record(1, occurred_on=None, days=None)], actor=world.users["police_a"]
    )
    batch.refresh_from_db()
    assert batch.accepted == 1 and not Event.objects.exists() and SourceRecord.objects.count() == 1


def test_police_feed_uses_its_own_schema(world):
    feed = police_feed(world)
    batch, _ = services.ingest_records(
        feed,
        "k",
        [record(1, minor_present="是"), record(2, minor_present="maybe")],
        actor=world.users["police_a"],
    )
    batch.refresh_from_db()
    assert batch.rejected_by_reason == {"minor_present/wrong_type": 1}
    assert Event.objects.get().data == {"minor_present": True}


def test_a_file_failing_midway_keeps_what_came_before_and_logs_the_import(world, tmp_path):
    # the first row is long, so the encoding is detected on good bytes and the bad ones come later
    rows = [record(1, source_id="S1", id_number=id_number(1)) | {"备注": "长" * 100_000}]
    rows += [record(i, source_id=f"S{i}", id_number=id_number(i)) for i in range(2, 302)]
    (tmp_path / "f.csv").write_bytes(_csv(rows, header=[*record(1), "备注"]) + b"S302,\xff\xfe broken\n")
    batch = services.ingest_file(
        edu_feed(world), tmp_path / "f.csv", actor=world.users["edu_city"], chunk_size=100
    )
    batch.refresh_from_db()
    assert batch.status == "failed" and "编码" in batch.message
    assert batch.received == batch.accepted == Event.objects.count() >= 200  # whole chunks before the bytes
    event = AuditEvent.objects.get(action="import", object_id=str(batch.uuid))
    assert (
        event.extra["accepted"] == batch.accepted
        and event.extra["status"] == "failed"
        and "编码" in event.extra["message"]
    )


def test_a_batch_links_its_new_persons_once_when_it_is_done_resumed_chunks_included(
    world, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from weibao.lib.testing import area
    from weibao.registry import linking
    from weibao.registry.services import document_fields

    known = Person.objects.create(name="张三", sex="F", street=area(A1))
    IdentityDocument.objects.create(person=known, **document_fields("mainland_id", id_number(1)))
    linked = []
    monkeypatch.setattr(
        linking, "link_persons", lambda ids, **kw: linked.append((list(ids), kw)) or {"linked": 0}
    )
    path = tmp_path / "f.csv"
    path.write_bytes(_csv([record(i, source_id=f"S{i}", id_number=id_number(i)) for i in range(1, 13)]))
    feed = edu_feed(world)
    real = _crash_in_chunk(monkeypatch, 2)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=5)
    assert linked == []  # nothing linked while the batch is unfinished
    monkeypatch.setattr(pipeline, "write_chunk", real)
    with django_capture_on_commit_callbacks(execute=True):
        services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=5)
    created = set(
        Person.objects.filter(source_records__isnull=False).exclude(pk=known.pk).values_list("pk", flat=True)
    )
    assert len(created) == 11  # twelve rows, the first of them about the known child
    # one run, every chunk's new persons (and them with each other), the known child not among them
    assert linked == [(sorted(created), {"within": True})]


@pytest.fixture
def audit_truncatable(django_db_blocker):
    """A transactional test's database is emptied by TRUNCATE, which the audit table refuses: the trigger is
    off from before the test until after that (this fixture is set up before ``transactional_db``)."""
    statement = "ALTER TABLE audit_auditevent {} TRIGGER audit_event_no_truncate"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(statement.format("DISABLE"))
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(statement.format("ENABLE"))


@pytest.mark.skipif(not is_postgres(), reason="chunks are stored behind only on PostgreSQL")
def test_chunks_stored_behind_on_a_second_connection_resume_after_a_crash(
    audit_truncatable, django_db_serialized_rollback, transactional_db, tmp_path, monkeypatch
):
    """Outside a transaction on PostgreSQL the pipeline stores chunk N (and then lands N+1) in a second thread
    while chunk N+1 is read and checked: a store that fails stops the batch where it was, and the resume
    completes it exactly."""
    from weibao.lib.testing import build_world

    world = build_world()
    path = _file_25_good_1_bad(tmp_path)
    feed = edu_feed(world)
    threads: set = set()
    real = _crash_in_chunk(monkeypatch, 3, threads)
    with pytest.raises(RuntimeError):
        services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=5)
    assert all(name.startswith("weibao-store") for name in threads)  # stored behind, not inline
    batch = Batch.objects.get()
    assert (batch.status, batch.processed_through) == ("interrupted", 11)  # header + two chunks
    assert Event.objects.count() == 10 and batch.landed_through >= 16
    monkeypatch.setattr(pipeline, "write_chunk", real)
    _resume_and_check_the_26_rows(feed, path, world.users["edu_city"])
    assert check_references() == {}


@pytest.mark.skipif(not is_postgres(), reason="chunks are landed behind only on PostgreSQL")
def test_a_chunk_whose_landing_fails_is_not_stored_and_the_resume_reads_it_again(
    audit_truncatable, django_db_serialized_rollback, transactional_db, tmp_path, monkeypatch
):
    """Landing runs behind as well — store N, land N+1, store N+1 … one after the other in the second thread:
    when a chunk's landing fails, nothing of that chunk is stored, and the resume reads it from the file."""
    from weibao.lib.testing import build_world

    world = build_world()
    path = _file_25_good_1_bad(tmp_path)
    feed = edu_feed(world)
    threads: set = set()
    real = _crash_in_chunk(monkeypatch, 3, threads, step="land")
    with pytest.raises(RuntimeError):
        services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=5)
    assert threads and all(name.startswith("weibao-store") for name in threads)  # landed behind
    batch = Batch.objects.get()
    assert (batch.status, batch.processed_through, batch.landed_through) == ("interrupted", 11, 11)
    assert LandingRecord.objects.count() == 10 and Event.objects.count() == 10  # rows 12–16: nothing
    monkeypatch.setattr(pipeline, "land", real)
    _resume_and_check_the_26_rows(feed, path, world.users["edu_city"])
    assert check_references() == {}


def _store_after_the_next_is_prepared(monkeypatch, *, chunks: int):
    """Each chunk but the last is written only once the next chunk is prepared: the look-ups and plans of
    chunk N+1 then surely run while chunk N is not yet stored, however fast either thread is."""
    real_prepare, real_write = pipeline.prepare_chunk, pipeline.write_chunk
    done = {"prepared": 0, "written": 0}
    turn = threading.Condition()

    def prepare(*args, **kwargs):
        writes = real_prepare(*args, **kwargs)
        with turn:
            done["prepared"] += 1
            turn.notify_all()
        return writes

    def write(writes):
        with turn:
            done["written"] += 1
            n = done["written"]
            if n < chunks:
                assert turn.wait_for(lambda: done["prepared"] > n, timeout=30)
        real_write(writes)

    monkeypatch.setattr(pipeline, "prepare_chunk", prepare)
    monkeypatch.setattr(pipeline, "write_chunk", write)


@pytest.mark.skipif(not is_postgres(), reason="chunks are stored behind only on PostgreSQL")
def test_a_chunk_stored_behind_knows_what_the_chunk_before_it_wrote(
    audit_truncatable, django_db_serialized_rollback, transactional_db, tmp_path, monkeypatch
):
    """The next chunk is looked up and prepared while the chunk before is still being stored: a child, a
    source id resent unchanged and one resent changed are recognised across neighbouring chunks all the
    same, and a child already in the registry is linked to the department once."""
    from weibao.lib.testing import area, build_world
    from weibao.registry.services import document_fields

    world = build_world()
    known = Person.objects.create(name="张三", sex="F", street=area(A1))
    IdentityDocument.objects.create(person=known, **document_fields("mainland_id", id_number(9)))
    path = tmp_path / "f.csv"
    rows = [
        record(1),
        record(2),
        record(3, id_number=id_number(1)),  # chunk 2: the child of S1 again, under another source id
        record(2),  # S2 resent unchanged: a duplicate
        record(1, name="李四"),  # chunk 3: S1 resent changed: a conflict
        record(6, id_number=id_number(9)),  # the known child, not yet linked to the department …
        record(7, id_number=id_number(9)),  # chunk 4: … again, prepared while chunk 3 links it
    ]
    path.write_bytes(_csv(rows))
    feed = edu_feed(world)
    _store_after_the_next_is_prepared(monkeypatch, chunks=4)
    batch = services.ingest_file(feed, path, actor=world.users["edu_city"], chunk_size=2)
    batch.refresh_from_db()
    assert (batch.status, batch.accepted, batch.duplicates, batch.rejected) == ("done", 5, 1, 1)
    assert batch.rejected_by_reason == {"source_id/conflict": 1}
    assert Person.objects.filter(source_records__isnull=False).distinct().count() == 3
    assert (
        SourceRecord.objects.get(source_id="S3").person_id
        == SourceRecord.objects.get(source_id="S1").person_id
    )
    assert {SourceRecord.objects.get(source_id=s).person_id for s in ("S6", "S7")} == {known.pk}
    assert DepartmentLink.objects.filter(person=known, organisation=feed.owner).count() == 1
    assert Event.objects.count() == 5 and check_references() == {}
