"""Reading uploaded tables: CSV in UTF-8, UTF-8 with BOM or GBK/GB18030 (detected), and XLSX.

Yields ``(row_number, {header: value})`` with the row number as the user sees it in the file
(header = row 1). Empty rows are skipped; problems raise ``TableError`` with a Chinese message.
"""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator

from charset_normalizer import from_bytes

MAX_BYTES = 50 * 1024 * 1024
EXTRA_CELLS = "__extra__"  # key set on a row that has values beyond the last header


class TableError(ValueError):
    pass


class Formula(str):
    """An XLSX formula cell the file holds no computed value for (a file written by a program, not saved by
    Excel): its formula text (``=B2+C2``), marked so that a reader rejects it by name instead of reading an empty
    cell or taking the formula for the value."""


def detect_encoding(sample: bytes, *, complete: bool = True, guess: bool = True) -> str:
    """UTF-8 with BOM, UTF-8, GB18030 (a superset of GBK and GB2312), else charset-normalizer's guess
    (``guess=False``: no guess, an error). ``complete=False``: ``sample`` is only the start of a longer
    file (streamed), so a character cut at its end is not an error."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
            return encoding
        except UnicodeDecodeError:
            continue
    best = from_bytes(sample[:200_000]).best() if guess else None
    if best is None:
        raise TableError("无法识别文件编码，请另存为 UTF-8 或 GBK (cannot detect the file encoding)")
    return best.encoding


def decode(data: bytes) -> tuple[str, str]:
    """Return (text, encoding), the encoding by ``detect_encoding``."""
    encoding = detect_encoding(data)
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise TableError(f"文件第 {exc.start} 字节处编码错误 (undecodable byte)") from None


def read_table(name: str, data: bytes) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    if len(data) > MAX_BYTES:
        raise TableError(
            f"文件过大：{len(data) // 1024 // 1024} MB，上限 {MAX_BYTES // 1024 // 1024} MB (file too large)"
        )
    if not data.strip():
        raise TableError("文件为空 (the file is empty)")
    lower = name.lower()
    if lower.endswith(".xlsx"):
        return _read_xlsx(data)
    if lower.endswith((".csv", ".txt")):
        return _read_csv(data)
    raise TableError("只支持 CSV 或 XLSX 文件 (only CSV or XLSX files)")


EXCEL_DIGITS = 15  # significant digits Excel keeps of a number


def number_text(value: float) -> str:
    """A number cell as text: a whole number without ``.0`` — unless it has more digits than Excel keeps, when
    the last ones were made up (an 18-digit ID number typed as a number comes back as ``…0000`` or, through a
    float, as ``…0112``, which passes as another number): then as Excel shows it (``3.10101201506010E+17``),
    which no identifier check accepts, so the row is rejected instead of carrying a wrong number."""
    if value.is_integer():
        return str(int(value)) if abs(value) < 10**EXCEL_DIGITS else f"{value:.{EXCEL_DIGITS - 1}E}"
    return str(value)


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return number_text(value)
    return str(value).strip()


MAX_COLUMNS = 1000


def check_headers(raw) -> list[str]:
    """Row 1 as column names: at least one, at most ``MAX_COLUMNS``, none repeated (a BOM left on the first
    is dropped)."""
    headers = [_clean(h).lstrip("\ufeff") for h in raw]
    if not any(headers):
        raise TableError("第 1 行应为表头 (row 1 must hold the column names)")
    width = max(i for i, h in enumerate(headers) if h) + 1
    if width > MAX_COLUMNS:
        raise TableError(f"列数过多：表头有 {width} 列，上限 {MAX_COLUMNS} 列 (too many columns)")
    if any("\x00" in h for h in headers):
        raise TableError("表头含有空字符（NUL），无法保存 (NUL character in the header)")
    seen = set()
    for h in headers:
        if h and h in seen:
            raise TableError(f"表头“{h}”重复 (duplicate column)")
        seen.add(h)
    return headers


def _rows(headers, rows, start=2):
    iterator, number = iter(rows), start - 1
    while True:
        number += 1
        try:
            raw = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # csv.Error (a field too large, a NUL byte), a broken XLSX sheet
            raise TableError(f"第 {number} 行无法读取：{exc} (unreadable row)") from None
        formula = next((i for i, v in enumerate(raw) if isinstance(v, Formula)), None)
        if formula is not None:
            column = (headers[formula] if formula < len(headers) else "") or f"第 {formula + 1} 列"
            raise TableError(
                f"第 {number} 行“{column}”是没有计算结果的公式（{raw[formula]}）：请在 Excel 中打开并保存后再上传"
                " (a formula without a saved value)"
            )
        values = [_clean(v) for v in raw]
        if not any(values):
            continue
        for i, value in enumerate(values):
            if "\x00" in value:
                column = headers[i] if i < len(headers) else f"第 {i + 1} 列"
                raise TableError(f"第 {number} 行“{column}”含有空字符（NUL），无法保存 (NUL character)")
        row = {h: (values[i] if i < len(values) else "") for i, h in enumerate(headers) if h}
        if any(values[len(headers) :]):
            row[EXTRA_CELLS] = "、".join(v for v in values[len(headers) :] if v)
        yield number, row


def _read_csv(data: bytes):
    text, _encoding = decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        headers = check_headers(next(reader))
    except StopIteration:
        raise TableError("文件为空 (the file is empty)") from None
    except csv.Error as exc:
        raise TableError(f"第 1 行无法读取：{exc} (unreadable header)") from None
    return headers, _rows(headers, reader)


def _read_xlsx(data: bytes):
    headers, rows = xlsx_rows(io.BytesIO(data))
    return headers, _rows(headers, (values for _number, values in rows))


# --- XLSX: opened with care, read with bounds ------------------------------------------------------------

XLSX_EXTRA_COLUMNS = 64  # columns a sheet may declare beyond its last header
XLSX_MAX_STRINGS = 256 * 1024 * 1024  # the shared-strings part is held in memory whole
XLSX_MAX_RATIO = 200  # uncompressed/compressed size of a large part: beyond it, a zip bomb


_FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s/>]")  # <f>, <f t="shared" …/>, <x:f>


def _has_formulas(sheet) -> bool:
    """Whether the sheet's XML holds a formula at all (streamed: most files hold none, and are read once)."""
    tail = b""
    with sheet._get_source() as part:  # openpyxl's handle on the sheet's part in the zip
        while chunk := part.read(1024 * 1024):
            if _FORMULA_ELEMENT.search(tail + chunk):
                return True
            tail = chunk[-16:]
    return False


def _unvalued_formula_cells(sheet) -> Iterator[tuple[int, dict[int, str]]]:
    """``(row number, {column index: formula text})`` of each row holding a formula the file saved no value
    for, in order — from the sheet's XML, streamed (openpyxl reads such a cell as ``None``, like an empty
    one). A formula whose saved value is the empty text (``t="str"``, ``<v></v>``) has its value; a shared
    formula's other cells get its text moved to them, as Excel shows it."""
    from openpyxl.formula.translate import Translator
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.xml.functions import iterparse

    local = lambda element: element.tag.rpartition("}")[2]  # noqa: E731 - the main namespace, or none
    shared: dict[str, tuple[str, str]] = {}  # a shared formula's id → (its text, the cell it is written in)
    number, column, found = 0, 0, {}
    with sheet._get_source() as part:  # openpyxl's handle on the sheet's part in the zip
        for event, element in iterparse(part, events=("start", "end")):
            tag = local(element)
            if event == "start":
                if tag == "row":
                    number, column, found = int(element.get("r") or number + 1), 0, {}
                continue
            if tag == "row":
                if found:
                    yield number, found
                element.clear()
            elif tag == "c":
                coordinate = element.get("r")
                column = coordinate_to_tuple(coordinate)[1] if coordinate else column + 1
                children = {local(child): child for child in element}
                formula = children.get("f")
                if formula is None:
                    continue
                value = children.get("v")
                valued = "is" in children or (
                    value is not None and (bool(value.text) or element.get("t") == "str")
                )
                text = formula.text
                if formula.get("t") == "shared":
                    si = formula.get("si")
                    if text:
                        shared[si] = (text, coordinate)
                    elif si in shared and coordinate:
                        master, origin = shared[si]
                        try:
                            text = Translator(f"={master}", origin=origin).translate_formula(coordinate)[1:]
                        except Exception:  # a formula the translator cannot move: shown as written
                            text = master
                if not valued:
                    found[column - 1] = f"={text}" if text else f"=（{formula.get('t') or '公式'}）"


def _with_formulas(values: tuple, cells: dict[int, str], bound: int | None) -> tuple:
    """A row of cell values with its formulas saved without a value put in as ``Formula`` (within ``bound``)."""
    wanted = [i for i in cells if bound is None or i < bound]
    out = list(values) + [None] * (max(wanted, default=-1) + 1 - len(values))
    for i in wanted:
        if out[i] is None:
            out[i] = Formula(cells[i])
    return tuple(out)


def _check_zip(source) -> None:
    """Refuse an XLSX whose parts would decompress to far more than it weighs (a few KB can claim GBs):
    openpyxl holds the shared strings in memory and walks every row a sheet declares."""
    try:
        with zipfile.ZipFile(source) as archive:
            parts = archive.infolist()
    except Exception:  # BadZipFile, NotImplementedError (unsupported version), UnicodeDecodeError (names) …
        raise TableError("无法读取 XLSX 文件，文件可能已损坏 (not a readable XLSX file)") from None
    for part in parts:
        huge = part.file_size > 16 * 1024 * 1024 and part.file_size > XLSX_MAX_RATIO * max(
            part.compress_size, 1
        )
        if huge or (part.filename.endswith("sharedStrings.xml") and part.file_size > XLSX_MAX_STRINGS):
            raise TableError(
                f"XLSX 文件解压后过大（{part.filename}：{part.file_size // 1024 // 1024} MB），"
                "请另存为 CSV 后上传 (decompresses to too much)"
            )


def xlsx_rows(source) -> tuple[list[str], Iterator[tuple[int, tuple]]]:
    """The first worksheet of an XLSX (a path or a binary file object) as ``(headers, rows)``: ``rows`` yields
    ``(row number, cell values)`` streamed. openpyxl pads every row to the size a sheet *declares*: one
    declaring more than ``XLSX_EXTRA_COLUMNS`` past the last header (``A1:XFD1048576``, a million rows of
    16,384 cells) is refused rather than walked; an unsized sheet's rows come as written. A formula cell the file
    saved no value for comes as a ``Formula`` (its text), never as an empty cell. Every failure, also one in the
    middle of the sheet, is a ``TableError``."""
    from openpyxl import load_workbook

    _check_zip(source)
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
        sheets = workbook.worksheets
    except Exception:  # openpyxl raises many types for a broken file
        raise TableError("无法读取 XLSX 文件，文件可能已损坏 (not a readable XLSX file)") from None
    if not sheets:
        workbook.close()
        raise TableError("XLSX 文件中没有工作表 (no worksheet)")
    sheet = sheets[0]
    try:
        first = next(sheet.iter_rows(max_row=1, values_only=True), None)
        declared = sheet.max_column
    except Exception:
        workbook.close()
        raise TableError("第 1 行无法读取 (unreadable header)") from None
    if first is None:
        workbook.close()
        raise TableError("文件为空 (the file is empty)")
    try:
        formulas = _unvalued_formula_cells(sheet) if _has_formulas(sheet) else (row for row in ())
        pending = next(formulas, None)
    except Exception:  # the sheet's XML is broken
        workbook.close()
        raise TableError("工作表无法读取，文件可能已损坏 (unreadable sheet)") from None
    if pending is not None and pending[0] == 1:
        column, text = min(pending[1].items())
        formulas.close()
        workbook.close()
        raise TableError(
            f"第 1 行第 {column + 1} 列（表头）是没有计算结果的公式（{text}）：请在 Excel 中打开并保存后再上传"
            " (a formula without a saved value in the header)"
        )
    headers = check_headers(first)
    width = max(i for i, h in enumerate(headers) if h) + 1
    if declared and declared > width + XLSX_EXTRA_COLUMNS:
        formulas.close()
        workbook.close()
        raise TableError(
            f"工作表声明了 {declared} 列，表头只有 {width} 列：请删除表头右侧多余的列后再上传 "
            "(the sheet declares far more columns than its header)"
        )

    def rows():
        nonlocal pending
        number = 1
        try:
            # bounded only when the sheet declares its size (rows are then padded to it); an unsized sheet's rows
            # come as written, every cell kept
            bound = width + XLSX_EXTRA_COLUMNS if declared else None
            for number, values in enumerate(
                sheet.iter_rows(min_row=2, max_col=bound, values_only=True), start=2
            ):
                while pending is not None and pending[0] < number:
                    pending = next(formulas, None)
                if pending is not None and pending[0] == number:
                    values = _with_formulas(values, pending[1], bound)
                yield number, values
        except TableError:
            raise
        except Exception as exc:  # a broken cell or sheet part
            raise TableError(
                f"第 {number + 1} 行无法读取：{exc.__class__.__name__} (unreadable row)"
            ) from None
        finally:
            formulas.close()
            workbook.close()

    return headers[:width], rows()
