"""Files built to hurt: an XLSX declaring a million rows of 16,384 cells, one whose shared strings
decompress to far more than it weighs, broken parts, no worksheet, too many columns, JSON nested too
deeply, zip directories Python cannot read — each refused with a reason, quickly, never a 500."""

import io
import zipfile

import pytest
from openpyxl import Workbook

from weibao.feeds.readers import FileError, open_rows
from weibao.lib.tabular import MAX_COLUMNS, TableError, read_table
from weibao.lib.uploads import sniff


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rewrite(data: bytes, part: str, change) -> bytes:
    """``data`` (a zip) with ``part``'s text passed through ``change`` (``change("")`` if it has none)."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == part:
                body = change(body.decode()).encode()
            target.writestr(info.filename, body)
        if part not in source.namelist():
            target.writestr(part, change("").encode())
    return out.getvalue()


def _huge_dimension() -> bytes:
    """A few KB declaring A1:XFD1048576, with one cell in the last row."""

    def claim(xml: str) -> str:
        xml = xml.replace('<dimension ref="A1:B2" />', '<dimension ref="A1:XFD1048576" />')
        return xml.replace(
            "</sheetData>",
            '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
        )

    return _rewrite(_xlsx([["名称", "类型"], ["a", "b"]]), "xl/worksheets/sheet1.xml", claim)


def test_an_xlsx_declaring_sixteen_thousand_columns_is_refused_before_it_is_walked(tmp_path, monkeypatch):
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    data = _huge_dimension()
    walked = []
    real = ReadOnlyWorksheet._cells_by_row
    monkeypatch.setattr(
        ReadOnlyWorksheet, "_cells_by_row", lambda *a, **k: walked.append(k or a[1:]) or real(*a, **k)
    )
    with pytest.raises(TableError, match="声明了 16384 列"):
        read_table("a.xlsx", data)
    (tmp_path / "a.xlsx").write_bytes(data)
    with pytest.raises(FileError, match="声明了 16384 列"):
        open_rows(tmp_path / "a.xlsx")
    assert len(walked) == 2  # the header row only, once per reader: no row beyond it was read


def test_an_xlsx_whose_parts_decompress_to_far_more_than_it_weighs_is_refused():
    strings = "<sst>" + "<si><t>a</t></si>" * 2_000_000 + "</sst>"  # ~34 MB of text, a few KB zipped
    data = _rewrite(_xlsx([["名称"], ["a"]]), "xl/sharedStrings.xml", lambda _xml: strings)
    assert len(data) < 200_000
    with pytest.raises(TableError, match="解压后过大"):
        read_table("a.xlsx", data)


@pytest.mark.parametrize(
    "part, change",
    [
        ("xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2]),  # cut short
        ("xl/worksheets/sheet1.xml", lambda xml: xml.replace('r="A2"', 'r="ZZZZZ2"')),  # a cell nowhere
    ],
)
def test_a_broken_sheet_is_a_file_error_not_a_crash(tmp_path, part, change):
    data = _rewrite(_xlsx([["名称", "类型"], ["a", "b"], ["c", "d"]]), part, change)
    (tmp_path / "a.xlsx").write_bytes(data)
    with pytest.raises(TableError):
        _headers, rows = read_table("a.xlsx", data)
        list(rows)
    with pytest.raises(FileError):
        _encoding, rows = open_rows(tmp_path / "a.xlsx")
        list(rows)


def test_too_many_columns_are_refused_with_the_count():
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1))
    with pytest.raises(TableError, match=f"{MAX_COLUMNS + 1} 列"):
        read_table("a.csv", (header + "\n" + "1\n").encode())


def test_a_jsonl_line_nested_too_deeply_lands_as_an_unparsable_row(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"source_id": "1"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")
    _encoding, rows = open_rows(tmp_path / "a.jsonl")
    rows = list(rows)
    assert rows[0] == (1, {"source_id": "1"}) and list(rows[1][1]) == ["__unparsed__"]


def _central_directory_changed(change) -> bytes:
    data = bytearray(_xlsx([["a"]]))
    change(data, data.find(b"PK\x01\x02"))  # the first central-directory entry
    return bytes(data)


def _needs_version_10(data, at):
    data[at + 6] = 100  # "version needed to extract" = 10.0: NotImplementedError


def _bad_utf8_name(data, at):
    data[at + 9] |= 0x08  # "the name is UTF-8" …
    data[at + 46] = 0xFF  # … and its first byte is not: UnicodeDecodeError


@pytest.mark.parametrize("change", [_needs_version_10, _bad_utf8_name])
def test_a_zip_python_cannot_read_is_not_an_office_file_and_not_a_crash(change):
    data = _central_directory_changed(change)
    with pytest.raises((NotImplementedError, UnicodeDecodeError)):  # what zipfile itself does with it
        zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sniff(data, "xlsx") is False and sniff(data, "docx") is False
    with pytest.raises(TableError, match="无法读取 XLSX"):
        read_table("a.xlsx", data)


@pytest.mark.django_db
def test_an_organisation_import_too_large_is_refused_before_it_is_read(world, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from weibao.lib import tabular
    from weibao.lib.testing import signed_in

    monkeypatch.setattr(tabular, "MAX_BYTES", 10)
    upload = SimpleUploadedFile("orgs.csv", "名称,类型\n".encode() * 5)
    response = signed_in(world.users["sysadmin"]).post("/accounts/organisations/import/", {"file": upload})
    assert response.status_code == 200
    assert "文件过大" in str(response.context["form"].errors["file"])


def test_an_id_number_typed_as_a_number_in_excel_is_never_read_as_another_number(tmp_path):
    from weibao.lib.checksums import validate_id_number

    (tmp_path / "a.xlsx").write_bytes(_xlsx([["id_number", "phone"], [310101201506010123, 13800138000]]))
    _encoding, rows = open_rows(tmp_path / "a.xlsx")
    ((_number, row),) = list(rows)
    # Excel keeps 15 digits: the last three were made up, so the cell reads as Excel shows it, not as digits
    assert row == {"id_number": "3.10101201506010E+17", "phone": "13800138000"}
    with pytest.raises(ValueError):
        validate_id_number(row["id_number"])
    _headers, rows = read_table("a.xlsx", (tmp_path / "a.xlsx").read_bytes())
    assert list(rows)[0][1]["id_number"] == "3.10101201506010E+17"


def test_a_cell_far_right_of_the_header_is_kept_when_the_sheet_declares_no_size():
    def unsized(xml: str) -> str:  # no <dimension>, and a value in column CV (100)
        xml = xml.replace('<dimension ref="A1:B2" />', "")
        return xml.replace(
            "</row></sheetData>", '<c r="CV2" t="inlineStr"><is><t>far</t></is></c></row></sheetData>'
        )

    data = _rewrite(_xlsx([["名称", "类型"], ["a", "b"]]), "xl/worksheets/sheet1.xml", unsized)
    _headers, rows = read_table("a.xlsx", data)
    ((_number, row),) = list(rows)
    assert row["名称"] == "a" and row["__extra__"] == "far"  # kept beside the row, never dropped
