"""XLSX formula cells the file holds no value for (written by a program, never saved by Excel): the row lands
with the formula's text and is rejected naming the field, instead of reading an empty cell."""

import io
import re
import zipfile

import openpyxl
import pytest

from weibao.feeds import services
from weibao.feeds.models import Event, LandingRecord
from weibao.lib.tabular import TableError, read_table

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


@pytest.mark.parametrize("marker", ["__formula__", "__unstorable__"])
@pytest.mark.parametrize("sent", [5, "name", {"name": 1}, [1, None]])
def test_a_reader_marker_sent_by_a_client_marks_nothing_and_breaks_nothing(world, marker, sent):
    feed = edu_feed(world)
    good = {**record(1), marker: sent}
    batch, _created = services.ingest_records(feed, "k-1", [good], actor=world.users["edu_city"])
    batch.refresh_from_db()
    assert (batch.received, batch.accepted) == (1, 1)
