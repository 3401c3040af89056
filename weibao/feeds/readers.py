"""Streaming readers for feed files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 — detected), XLSX, JSONL.

Each yields ``(row_number, {column: value})`` one row at a time, never holding the file in memory; the row
number is the one a person sees (CSV/XLSX: the header is row 1; JSONL: line number). Empty rows are
skipped. A JSONL line that is not a JSON object is still yielded, as ``{"__unparsed__": line}``, so that it
lands and is rejected with its reason rather than lost. Unreadable files raise ``FileError``.
"""

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from weibao.lib.tabular import EXTRA_CELLS, Formula, TableError, check_headers, number_text, xlsx_rows
from weibao.lib.tabular import detect_encoding as tabular_detect_encoding

UNPARSED = "__unparsed__"
FORMULA = "__formula__"  # the XLSX columns holding a formula without a saved value (kept as its text)
# the columns whose text was escaped to be stored (``protect.escape_unstorable``)
UNSTORABLE = "__unstorable__"
# Keys the readers and the pipeline write into a record: never taken from a sender (an API record holding one
# is refused, a JSONL line lands unparsed, a file column so named refuses the file).
RESERVED = (UNPARSED, EXTRA_CELLS, FORMULA, UNSTORABLE)
EXTRA = EXTRA_CELLS  # values beyond the last header (kept as a list here: landing keeps them as sent)
SAMPLE = 256 * 1024
csv.field_size_limit(16 * 1024 * 1024)


FileError = TableError  # the file cannot be read at all (not a single record can be landed)


def detect_encoding(sample: bytes) -> str:
    """Of the first ``SAMPLE`` bytes of a streamed file (``weibao.lib.tabular``'s rule, without guessing:
    feeds are UTF-8, UTF-8 with BOM or GBK/GB18030)."""
    return tabular_detect_encoding(sample, complete=False, guess=False)


def file_kind(name: str) -> str:
    lower = name.lower()
    for suffix, kind in (
        (".csv", "csv"),
        (".txt", "csv"),
        (".xlsx", "xlsx"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
    ):
        if lower.endswith(suffix):
            return kind
    raise FileError("只支持 CSV、XLSX 或 JSONL 文件 (only CSV, XLSX or JSONL files)")


def open_rows(path: str | Path, name: str | None = None) -> tuple[str, Iterator[tuple[int, dict]]]:
    """(encoding, rows). Problems with the file as a whole raise ``FileError`` here or while iterating."""
    path = Path(path)
    kind = file_kind(name or path.name)
    try:
        with path.open("rb") as fh:
            sample = fh.read(SAMPLE)
    except OSError as exc:
        raise FileError(f"无法打开文件：{exc.strerror} (cannot open the file)") from None
    if not sample.strip():
        raise FileError("文件为空 (the file is empty)")
    if kind == "xlsx":
        return "xlsx", _xlsx_rows(path)
    encoding = detect_encoding(sample)
    if kind == "jsonl":
        return encoding, _jsonl_rows(path, encoding)
    return encoding, _csv_rows(path, encoding, sample)


def _not_reserved(headers: list[str]) -> list[str]:
    if taken := [h for h in headers if h in RESERVED]:
        raise FileError(f"表头“{taken[0]}”是系统保留的列名，请改名后再上传 (reserved column name)")
    return headers


def _text(path, encoding):
    return io.open(path, encoding=encoding, newline="", errors="strict")  # noqa: UP020 - explicit text mode


def _guarded(rows):
    try:
        yield from rows
    except UnicodeDecodeError as exc:
        raise FileError(f"文件编码错误（第 {exc.start} 字节附近）(undecodable bytes)") from None
    except csv.Error as exc:
        raise FileError(f"CSV 格式错误：{exc} (malformed CSV)") from None


def _csv_rows(path, encoding, sample: bytes):
    text_sample = sample[:8192].decode(encoding, errors="ignore")
    try:
        dialect = csv.Sniffer().sniff(text_sample.split("\n", 1)[0], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel

    def rows():
        with _text(path, encoding) as fh:
            reader = csv.reader(fh, dialect)
            try:
                headers = _not_reserved(check_headers(next(reader)))
            except StopIteration:
                raise FileError("文件为空 (the file is empty)") from None
            width = len(headers)
            pairs = [(i, h) for i, h in enumerate(headers) if h]
            simple = len(pairs) == width
            for values in reader:
                number = reader.line_num
                if len(values) == width and simple:
                    if not any(values):
                        continue
                    yield number, dict(zip(headers, values, strict=True))
                    continue
                if not any(v.strip() for v in values):
                    continue
                row = {h: (values[i] if i < len(values) else "") for i, h in pairs}
                if len(values) > width:
                    row[EXTRA] = values[width:]
                yield number, row

    return _guarded(rows())


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return number_text(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    return str(value)


def _xlsx_rows(path):
    headers, sheet_rows = xlsx_rows(path)  # opened with care and read with bounds (weibao.lib.tabular)
    _not_reserved(headers)
    width = len(headers)

    def rows():
        for number, raw in sheet_rows:
            values = [_cell(v) for v in raw]
            if not any(v.strip() for v in values):
                continue
            row = {h: (values[i] if i < len(values) else "") for i, h in enumerate(headers) if h}
            if any(values[width:]):
                row[EXTRA] = values[width:]
            formulas = [
                headers[i] for i, v in enumerate(raw[:width]) if isinstance(v, Formula) and headers[i]
            ]
            if formulas:
                row[FORMULA] = formulas
            yield number, row

    return rows()


def _jsonl_rows(path, encoding):
    def rows():
        with _text(path, encoding) as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
                    value = None
                if not isinstance(value, dict) or any(key in value for key in RESERVED):
                    value = {UNPARSED: line.rstrip("\r\n")}
                yield number, value

    return _guarded(rows())
