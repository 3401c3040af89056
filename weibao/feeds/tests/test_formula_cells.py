"""XLSX formula cells the file holds no value for (written by a program, never saved by Excel): the row lands
with the formula's text and is rejected naming the field, instead of reading an empty cell. And the keys the
readers write into a record to say so (``__formula__``, ``__unstorable__`` …) are never taken from a sender."""

import io
import json
import re
import zipfile

import openpyxl
import pytest

from weibao.feeds import services
from weibao.feeds.models import Batch, Event, LandingRecord
from weibao.feeds.protect import received
from weibao.lib.tabular import TableError, read_table
from weibao.lib.testing import signed_in

from .helpers import edu_feed, record

COLUMNS = ["source_id", "id_number", "name", "sex", "birth_date", "street", "occurred_on", "days", "note"]


def _row(serial: int, **overrides) -> list:
    r = {**record(serial), "sex": "女", "birth_date": "2015-06-01", "occurred_on": "2025-03-01", "days": 5}
    r.update(overrides)
    return [r.get(c, "") for c in COLUMNS]


def _workbook(rows) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)  # openpyxl saves formulas without a computed value, as any program but Excel does
    return out.getvalue()


def _edit_sheet(data: bytes, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            part = src.read(item.filename)
            dst.writestr(item, change(part) if item.filename == "xl/worksheets/sheet1.xml" else part)
    return out.getvalue()


def _with_saved_values(data: bytes, value: str) -> bytes:
    """The same workbook as Excel would save it: each formula with its computed value."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            part = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                saved = rb'<c r="\1" t="str">\2<v>' + value.encode() + rb"</v>"
                part = re.sub(rb'<c r="(\w+)">(<f>[^<]*</f>)<v\s*/>', saved, part)
            dst.writestr(item, part)
    return out.getvalue()


def test_a_formula_without_a_value_is_rejected_naming_the_field_and_kept_as_its_text(world, tmp_path):
    data = _workbook(
        [COLUMNS, _row(1), _row(2, name='=CONCATENATE("张","三")'), _row(3, note="=B3&C3"), _row(4)]
    )
    (tmp_path / "f.xlsx").write_bytes(data)
    feed = edu_feed(world)
    officer = world.users["edu_city"]
    batch = services.ingest_file(feed, tmp_path / "f.xlsx", actor=officer)
    batch.refresh_from_db()
    # a formula in a mapped field rejects its row; one in an extra column is kept as sent, marked
    assert (batch.status, batch.received, batch.accepted, batch.rejected) == ("done", 4, 3, 1)
    assert batch.rejected_by_reason == {"name/formula": 1}
    rejected = LandingRecord.objects.get(batch=batch, row_number=3)
    assert list(rejected.errors) == ["name"] and "没有计算结果的公式" in rejected.errors["name"][0]
    assert rejected.raw["name"] == '=CONCATENATE("张","三")' and rejected.raw["__formula__"] == ["name"]
    kept = LandingRecord.objects.get(batch=batch, row_number=4)
    assert kept.status != "rejected" and kept.raw["note"] == "=B3&C3" and kept.raw["__formula__"] == ["note"]
    # resubmitted unchanged it stays rejected; with the value given it is accepted
    assert "name" in services.fix_record(
        rejected, {"name": '=CONCATENATE("张","三")'}, actor=officer, reason="核对"
    )
    rejected.refresh_from_db()
    assert services.fix_record(rejected, {"name": "张三"}, actor=officer, reason="按学籍核对") == {}
    assert Event.objects.filter(feed=feed).count() == 4


def test_a_formula_excel_saved_with_its_value_reads_as_that_value(world, tmp_path):
    data = _with_saved_values(_workbook([COLUMNS, _row(1), _row(2, days="=2+3")]), "5")
    (tmp_path / "f.xlsx").write_bytes(data)
    batch = services.ingest_file(edu_feed(world), tmp_path / "f.xlsx", actor=world.users["edu_city"])
    batch.refresh_from_db()
    assert (batch.received, batch.accepted, batch.rejected) == (2, 2, 0)
    assert LandingRecord.objects.get(batch=batch, row_number=3).raw["days"] == "5"


def test_an_import_table_with_a_formula_without_a_value_is_refused_naming_row_and_column():
    data = _workbook([["名称", "类型"], ["一中", "school"], ['=A2&"分校"', "school"]])
    _headers, rows = read_table("orgs.xlsx", data)
    with pytest.raises(TableError, match="第 3 行“名称”是没有计算结果的公式"):
        list(rows)
    _headers, rows = read_table("orgs.xlsx", _with_saved_values(data, "一中分校"))
    assert [row for _n, row in rows] == [
        {"名称": "一中", "类型": "school"},
        {"名称": "一中分校", "类型": "school"},
    ]


@pytest.mark.parametrize("key", ["__formula__", "__unstorable__", "__unparsed__", "__extra__"])
@pytest.mark.parametrize("sent", [["name"], 5, "name", {"name": 1}])
def test_a_key_the_readers_write_is_never_taken_from_an_api_sender(world, key, sent):
    """Sent as ``__formula__: ["name"]`` it would reject a good record for a made-up reason; sent as a number
    it would stop the validator. The API refuses it, naming the record and the key, and stores nothing."""
    edu_feed(world)
    client = signed_in(world.users["edu_city"])
    payload = {"idempotency_key": "k-1", "records": [record(1), {**record(2), key: sent}]}
    response = client.post("/api/feeds/edu_absence/batches/", payload, content_type="application/json")
    assert response.status_code == 400
    assert f"第 2 条记录含有系统保留的字段名 {key}" in response.json()["errors"]["records"][0]
    assert not Batch.objects.exists() and not LandingRecord.objects.exists()


def test_a_jsonl_line_with_a_reserved_key_lands_as_sent_and_is_rejected_saying_so(world, tmp_path):
    lines = [json.dumps(record(1)), json.dumps({**record(2), "__formula__": ["name"]}), "[1, 2]"]
    (tmp_path / "f.jsonl").write_text("\n".join(lines) + "\n")
    batch = services.ingest_file(edu_feed(world), tmp_path / "f.jsonl", actor=world.users["edu_city"])
    batch.refresh_from_db()
    assert (batch.received, batch.accepted, batch.rejected) == (3, 1, 2)
    reserved = LandingRecord.objects.get(batch=batch, row_number=2)
    assert received(reserved.raw) == {
        "__unparsed__": lines[1]
    }  # the line as received (sealed: it holds an ID)
    assert reserved.errors["record"] == ["该行含有系统保留的字段名 __formula__ (reserved key)"]
    other = LandingRecord.objects.get(batch=batch, row_number=3)
    assert other.errors["record"] == ["该行不是有效的 JSON 对象 (not a JSON object)"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_column_named_like_a_reserved_key_refuses_the_file(world, tmp_path, kind):
    header = [*COLUMNS[:8], "__unstorable__"]
    if kind == "csv":
        (tmp_path / "f.csv").write_text(",".join(header) + "\n" + ",".join(map(str, _row(1))) + "\n")
    else:
        (tmp_path / "f.xlsx").write_bytes(_workbook([header, _row(1)]))
    batch = services.ingest_file(edu_feed(world), tmp_path / f"f.{kind}", actor=world.users["edu_city"])
    batch.refresh_from_db()
    assert batch.status == "failed" and "表头“__unstorable__”是系统保留的列名" in batch.message
    assert not LandingRecord.objects.filter(batch=batch).exists()


def test_what_excel_writes_a_formula_whose_value_is_empty_text_and_shared_formulas_as():
    """``t="str"`` with ``<v></v>``: the formula's value is the empty text (``=IF(…,"",…)``), not missing. A
    shared formula without values: each of its cells is named with its own text, as Excel shows it."""
    data = _workbook([["名称", "类型", "备注"], ["一中", "school", "x"], ["二中", "school", "y"]])

    def change(xml: bytes) -> bytes:
        xml = re.sub(rb'<c r="C2"[^>]*>.*?</c>', b'<c r="C2" t="str"><f>IF(1,"","x")</f><v></v></c>', xml)
        xml = re.sub(
            rb'<c r="C3"[^>]*>.*?</c>', b'<c r="C3"><f t="shared" ref="C3:C4" si="0">A3&amp;B3</f></c>', xml
        )
        xml = xml.replace(
            b"</sheetData>",
            b'<row r="4"><c r="A4" t="inlineStr"><is><t>sanzhong</t></is></c>'
            b'<c r="B4" t="inlineStr"><is><t>school</t></is></c><c r="C4"><f t="shared" si="0"/></c>'
            b"</row></sheetData>",
        )
        return re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:C4"/>', xml)

    _headers, rows = read_table("orgs.xlsx", _edit_sheet(data, change))
    with pytest.raises(TableError, match="第 3 行“备注”是没有计算结果的公式（=A3&B3）"):
        assert next(rows)[1] == {"名称": "一中", "类型": "school", "备注": ""}  # C2: the empty text
        next(rows)
    from weibao.lib.tabular import Formula, xlsx_rows

    _headers, cells = xlsx_rows(io.BytesIO(_edit_sheet(data, change)))
    assert [(n, [v for v in row if isinstance(v, Formula)]) for n, row in cells] == [
        (2, []),
        (3, ["=A3&B3"]),
        (4, ["=A4&B4"]),
    ]


def test_a_header_that_is_a_formula_without_a_value_is_refused_naming_its_column(world, tmp_path):
    data = _workbook([COLUMNS[:8] + ['="备"&"注"'], _row(1)])
    with pytest.raises(TableError, match="第 1 行第 9 列（表头）是没有计算结果的公式"):
        read_table("orgs.xlsx", data)
    (tmp_path / "f.xlsx").write_bytes(data)
    batch = services.ingest_file(edu_feed(world), tmp_path / "f.xlsx", actor=world.users["edu_city"])
    batch.refresh_from_db()
    assert batch.status == "failed" and "第 9 列（表头）是没有计算结果的公式" in batch.message
