"""Reading uploaded tables: CSV in UTF-8, UTF-8 with BOM or GBK/GB18030 (detected), and XLSX.

Yields ``(row_number, {header: value})`` with the row number as the user sees it in the file
(header = row 1). Empty rows are skipped; problems raise ``TableError`` with a Chinese message.
"""

import codecs
import csv
import io
from collections.abc import Iterator

from charset_normalizer import from_bytes

MAX_BYTES = 50 * 1024 * 1024
EXTRA_CELLS = "__extra__"  # key set on a row that has values beyond the last header


class TableError(ValueError):
    pass


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


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def check_headers(raw) -> list[str]:
    """Row 1 as column names: at least one, none repeated (a BOM left on the first is dropped)."""
    headers = [_clean(h).lstrip("\ufeff") for h in raw]
    if not any(headers):
        raise TableError("第 1 行应为表头 (row 1 must hold the column names)")
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
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a broken file
        raise TableError("无法读取 XLSX 文件，文件可能已损坏 (not a readable XLSX file)") from None
    if not workbook.worksheets:
        raise TableError("XLSX 文件中没有工作表 (no worksheet)")
    rows = workbook.worksheets[0].iter_rows(values_only=True)
    try:
        headers = check_headers(next(rows))
    except StopIteration:
        raise TableError("文件为空 (the file is empty)") from None
    return headers, _rows(headers, rows)
