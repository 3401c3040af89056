import io

import pytest
from openpyxl import Workbook

from weibao.lib.tabular import EXTRA_CELLS, TableError, read_table

CSV = "名称,类型\n黄浦区第一中学,school\n,\n外滩幼儿园,kindergarten\n"


def _rows(name, data):
    headers, rows = read_table(name, data)
    return headers, list(rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_common_encoding(encoding):
    headers, rows = _rows("a.csv", CSV.encode(encoding))
    assert headers == ["名称", "类型"]
    assert rows == [
        (2, {"名称": "黄浦区第一中学", "类型": "school"}),
        (4, {"名称": "外滩幼儿园", "类型": "kindergarten"}),
    ]


def test_xlsx():
    wb = Workbook()
    ws = wb.active
    ws.append(["名称", "电话"])
    ws.append(["黄浦区第一中学", 2163210000])
    ws.append([None, None])
    buf = io.BytesIO()
    wb.save(buf)
    assert _rows("a.xlsx", buf.getvalue())[1] == [(2, {"名称": "黄浦区第一中学", "电话": "2163210000"})]


def test_extra_cells_are_flagged_not_dropped():
    rows = _rows("a.csv", "名称\n甲,多余\n".encode())[1]
    assert rows[0][1][EXTRA_CELLS] == "多余"


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("a.csv", b"", "文件为空"),
        ("a.pdf", b"x", "只支持"),
        ("a.xlsx", b"not a zip", "无法读取"),
        ("a.csv", "名称,名称\n1,2\n".encode(), "重复"),
        ("a.csv", b",,\n1,2,3\n", "表头"),
    ],
)
def test_bad_files_are_explained(name, data, message):
    with pytest.raises(TableError, match=message):
        read_table(name, data)


def test_huge_file_is_refused(monkeypatch):
    import weibao.lib.tabular as tabular

    monkeypatch.setattr(tabular, "MAX_BYTES", 100)
    with pytest.raises(TableError, match="文件过大"):
        read_table("a.csv", b"x" * 101)


def test_oversized_field_is_a_table_error_with_the_row():
    import csv

    previous = csv.field_size_limit(131072)  # the standard limit (other code may raise it process-wide)
    try:
        headers, rows = read_table("a.csv", ("名称\n甲\n" + "x" * 200_000 + "\n").encode())
        with pytest.raises(TableError, match="第 3 行无法读取"):
            list(rows)
    finally:
        csv.field_size_limit(previous)
