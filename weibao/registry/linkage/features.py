"""Turning records into comparison features: Arrow compute over whole columns, Python only over *distinct* values.

Input is a pandas DataFrame with a ``unique_id`` column and any of the :data:`ROLES` columns (missing
roles are simply absent). Output has one row per record and the columns of :data:`FEATURES`, all strings
or nulls, which the Splink comparisons in :mod:`.model` read.

Chinese names are normalised to simplified characters (OpenCC ``t2s``, offline), split into surname and
given name (compound surnames and surnames with their own reading first) and turned into pinyin with the
per-character table of :mod:`weibao.lib.pinyin`. Names without Chinese characters (``John Smith``,
``Müller``) are lower-cased, stripped of accents and compared on their letters, with the family name as
"surname". Every conversion runs once per distinct value (Arrow dictionary encoding, results taken back
per row), so a million records with a hundred thousand distinct names cost a hundred thousand
conversions; OpenCC runs once over all distinct strings. Columns that are nearly unique per record — ID
numbers, phones — are computed without a Python call per value (numpy checksum, Arrow string kernels);
``_valid_id`` and ``_phone`` remain as the per-value reference the tests compare them with.
"""

import datetime
import re
import unicodedata
from functools import cache, lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from weibao.lib.checksums import PROVINCE_CODES, validate_id_number
from weibao.lib.masking import COMPOUND_SURNAMES
from weibao.lib.pinyin import SURNAME_READINGS, char_pinyin

ROLES = (
    "full_name", "given_name", "family_name", "birth_date", "sex", "id_number", "identifier", "address",
    "locality", "postcode", "region", "phone", "guardian_name",
)  # fmt: skip

# nm: name as written (simplified); sn: surname key; py: full pinyin / letters; gpy: given-name pinyin;
# nsort: surname + sorted given syllables (swapped characters); ini: initials; dob: YYYY-MM-DD;
# idk: valid mainland ID (exact key); idr: any ID-number string as typed (typo level); idf: other identifier;
# addr/loc/pc/reg: address, street/locality, postcode, region; ph: phone digits; gd: guardians' pinyin, "|"-joined.
FEATURES = (
    "unique_id", "nm", "sn", "py", "gpy", "nsort", "ini", "dob", "sex", "idk", "idr", "idf", "addr", "loc",
    "pc", "reg", "ph", "gd",
)  # fmt: skip

GUARDIAN_SEPARATORS = re.compile(r"[;；,，/、|]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef]")
_NOT_WORD = re.compile(r"[^\w]+")
_DATE = re.compile(r"^\s*(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})\s*$")
_SEX = {
    "m": "M", "male": "M", "man": "M", "boy": "M", "1": "M", "男": "M", "h": "M",
    "f": "F", "female": "F", "woman": "F", "girl": "F", "2": "F", "女": "F", "w": "F",
}  # fmt: skip


class FeatureError(ValueError):
    """A value that cannot be read at all (e.g. a birth date that is not a date), with the column named."""


@cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


_SIMPLIFIED: dict[str, str] = {}
_SIMPLIFIED_MAX = 200_000  # kept between builds; a build primes all its distinct strings, then trims
_NAMES_KEPT = 200_000


def simplified(text: str) -> str:
    """Traditional → simplified characters (only when the text holds Chinese characters)."""
    out = _SIMPLIFIED.get(text)
    if out is None:
        out = _t2s().convert(text) if _CJK.search(text) else text
        if len(_SIMPLIFIED) < _SIMPLIFIED_MAX:
            _SIMPLIFIED[text] = out
    return out


def _blank(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _latin(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.lower())
    return " ".join(_NOT_WORD.sub(" ", "".join(c for c in plain if not unicodedata.combining(c))).split())


@lru_cache(maxsize=_NAMES_KEPT)
def name_features(family: str, given: str, full: str) -> tuple:
    """(nm, sn, py, gpy, nsort, ini) for one name; any part may be empty."""
    family, given, full = simplified(family), simplified(given), simplified(full)
    text = full or (family + given if _CJK.search(family + given) else f"{given} {family}".strip())
    if not text:
        return (None,) * 6
    if _CJK.search(text):
        text = "".join(text.split()).replace("·", "").replace("•", "")
        if family and text.startswith(family):
            cut = len(family)
        else:
            cut = 2 if text[:2] in COMPOUND_SURNAMES or text[:2] in SURNAME_READINGS else 1
        surname, rest = text[:cut], text[cut:]
        if surname in SURNAME_READINGS:
            sn = SURNAME_READINGS[surname]
            s_syll = [sn] if len(surname) == 1 else [char_pinyin(c) for c in surname]
        else:
            s_syll = [char_pinyin(c) for c in surname]
            sn = "".join(s_syll)
        g_syll = [char_pinyin(c) for c in rest]
        gpy = "".join(g_syll)
        ini = "".join(s[:1] for s in s_syll + g_syll if s)
        nsort = sn + "|" + " ".join(sorted(g_syll))
        return text, sn or None, sn + gpy, gpy or None, nsort, ini
    # Latin script: the family name is the "surname"; without one, the last word.
    words = _latin(text).split()
    if not words:
        return (None,) * 6
    fam = _latin(family) if family else words[-1]
    giv = (
        _latin(given) if given else " ".join(w for w in words if w != fam) if family else " ".join(words[:-1])
    )
    sn = fam.replace(" ", "")
    gpy = giv.replace(" ", "")
    nm = " ".join(words)
    ini = "".join(w[0] for w in words)
    nsort = " ".join(sorted(words))
    return nm, sn or None, "".join(words), gpy or None, nsort, ini


@lru_cache(maxsize=200_000)
def parse_date(value: str) -> str | None:
    """YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD (also YYYY.MM.DD) → 'YYYY-MM-DD'; raises FeatureError if not a date."""
    m = _DATE.match(value)
    if not m or (not any(s in value for s in "-/.") and len(value.strip()) != 8):
        raise FeatureError(f"“{value}” is not a date (YYYY-MM-DD, YYYYMMDD or YYYY/MM/DD)")
    try:
        return datetime.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        raise FeatureError(f"“{value}” is not a valid calendar date") from None


@lru_cache(maxsize=1_000_000)
def _valid_id(value: str) -> str | None:
    try:
        return validate_id_number(value)
    except ValueError:
        return None


@lru_cache(maxsize=200_000)
def _guardians(value: str) -> str | None:
    keys = set()
    for part in GUARDIAN_SEPARATORS.split(value):
        if part.strip():
            py = name_features("", "", part.strip())[2]
            if py:
                keys.add(py)
    return "|".join(sorted(keys)) or None


def _text_key(value: str) -> str | None:
    value = simplified(value)
    key = "".join(value.split()).lower() if _CJK.search(value) else _latin(value)
    return key or None


def _phone(value: str) -> str | None:
    digits = "".join(c for c in value if c.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits[-11:] if len(digits) >= 6 else None


def _strings(df: pd.DataFrame, role: str) -> pa.Array:
    """One role column as an Arrow string array, whitespace-trimmed, blanks (and missing columns) as ""."""
    n = len(df)
    if role not in df.columns:
        return pa.array([""] * n, type=pa.string()) if n else pa.array([], type=pa.string())
    series = df[role]
    try:
        arr = pa.array(series, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers, dates, mixed objects: pandas turns them into text
        arr = pa.array(series.astype("string"), type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return pc.fill_null(pc.utf8_trim_whitespace(arr), "")


def _distinct(arr: pa.Array) -> tuple[list, pa.Array]:
    """(distinct values in order of first appearance, per-row index into them)."""
    enc = pc.dictionary_encode(arr)
    return enc.dictionary.to_pylist(), enc.indices


def _apply(arr: pa.Array, fn) -> pa.Array:
    """``fn`` once per distinct non-blank value (in order of first appearance); blanks become null."""
    values, indices = _distinct(arr)
    return pa.array([fn(v) if v else None for v in values], type=pa.string()).take(indices)


def _prime_simplified(values) -> None:
    """Convert many distinct strings to simplified characters in one OpenCC call (one call per string
    costs ~0.1 ms: 90 % of the time of a name feature)."""
    todo = [v for v in set(values) if v and v not in _SIMPLIFIED and "\n" not in v and _CJK.search(v)]
    if not todo:
        return
    out = _t2s().convert("\n".join(todo)).split("\n")
    if len(out) == len(todo):
        _SIMPLIFIED.update(zip(todo, out, strict=True))


def _release_memory() -> None:
    """After a build: forget the bulk of the per-value caches (a registry of millions leaves ~1 GB of small
    Python strings behind) and hand the Arrow pool's freed memory back to the system, so that DuckDB,
    which links next, finds it (issue 4 §6: peak memory)."""
    if len(_SIMPLIFIED) > _SIMPLIFIED_MAX:
        _SIMPLIFIED.clear()
    pa.default_memory_pool().release_unused()


def _phones(arr: pa.Array) -> pa.Array:
    """Digits of a phone number; 86 country prefix dropped from 13 digits; last 11; null under 6 digits."""
    digits = pc.replace_substring_regex(arr, r"[^0-9０-９]", "")
    n = pc.utf8_length(digits)
    digits = pc.if_else(
        pc.and_(pc.equal(n, 13), pc.starts_with(digits, "86")), pc.utf8_slice_codeunits(digits, 2), digits
    )
    n = pc.utf8_length(digits)
    digits = pc.if_else(pc.greater(n, 11), pc.utf8_slice_codeunits(digits, -11), digits)
    return pc.if_else(pc.greater_equal(n, 6), digits, pa.scalar(None, pa.string()))


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_PROVINCES = {int(code) for code in PROVINCE_CODES}
_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def valid_ids(values: list[str]) -> list[str | None]:
    """Vectorised :func:`weibao.lib.checksums.validate_id_number` over normalised ID strings: the number
    where valid, else None. Non-ASCII 18-character strings go through the Python validator."""
    out: list[str | None] = [None] * len(values)
    ascii18 = [i for i, v in enumerate(values) if v and len(v) == 18 and v.isascii()]
    for i, v in enumerate(values):
        if v and len(v) == 18 and not v.isascii():
            out[i] = _valid_id(v)
    if not ascii18:
        return out
    b = np.frombuffer("".join(values[i] for i in ascii18).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    d = b[:, :17].astype(np.int64) - 48
    ok = ((d >= 0) & (d <= 9)).all(axis=1)
    last = b[:, 17]
    ok &= ((last >= 48) & (last <= 57)) | (last == ord("X"))
    d = np.where(ok[:, None], d, 0)
    year = d[:, 6] * 1000 + d[:, 7] * 100 + d[:, 8] * 10 + d[:, 9]
    month = d[:, 10] * 10 + d[:, 11]
    day = d[:, 12] * 10 + d[:, 13]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    dim = _DAYS[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim) & (year >= 1900)
    today = datetime.date.today()
    ok &= year * 10000 + month * 100 + day <= today.year * 10000 + today.month * 100 + today.day
    ok &= np.isin(d[:, 0] * 10 + d[:, 1], list(_PROVINCES))
    ok &= _ID_CHECK[(d[:, :17] @ _ID_WEIGHTS) % 11] == last
    for i in np.flatnonzero(ok):
        out[ascii18[i]] = values[ascii18[i]]
    return out


def build_features(df: pd.DataFrame, *, strict_dates: bool = True) -> pd.DataFrame:
    """Records (``unique_id`` + role columns) → the :data:`FEATURES` table.

    Columns are pandas strings backed by Arrow (nulls as ``pd.NA``), so the engine hands them to DuckDB
    without a copy. With ``strict_dates`` a birth date that cannot be read raises :class:`FeatureError`
    naming the first such value; otherwise it becomes null.
    """
    cols: dict[str, pa.Array] = {"unique_id": _strings(df, "unique_id")}

    full, family, given = _strings(df, "full_name"), _strings(df, "family_name"), _strings(df, "given_name")
    keys, indices = _distinct(pc.binary_join_element_wise(family, given, full, "\x1f"))
    parts = [k.split("\x1f") for k in keys]
    _prime_simplified(p for triple in parts for p in triple)
    named = [name_features(*triple) for triple in parts]
    for j, name in enumerate(("nm", "sn", "py", "gpy", "nsort", "ini")):
        cols[name] = pa.array([row[j] for row in named], type=pa.string()).take(indices)

    def date(value):
        try:
            return parse_date(value)
        except FeatureError:
            if strict_dates:
                raise
            return None

    cols["dob"] = _apply(_strings(df, "birth_date"), date)
    cols["sex"] = _apply(_strings(df, "sex"), lambda v: _SEX.get(v.lower()))
    ids = pc.utf8_upper(pc.replace_substring(_strings(df, "id_number"), " ", ""))
    id_values, id_indices = _distinct(ids)
    cols["idk"] = pa.array(valid_ids(id_values), type=pa.string()).take(id_indices)
    cols["idr"] = pc.if_else(pc.equal(ids, ""), pa.scalar(None, pa.string()), ids)
    cols["idf"] = _apply(
        _strings(df, "identifier"), lambda v: "".join(c for c in v.upper() if c.isalnum()) or None
    )
    for name, role in (("addr", "address"), ("loc", "locality"), ("reg", "region")):
        arr = _strings(df, role)
        values, _ = _distinct(arr)
        _prime_simplified(values)
        cols[name] = _apply(arr, _text_key)
    cols["pc"] = _apply(_strings(df, "postcode"), lambda v: "".join(v.upper().split()) or None)
    cols["ph"] = _phones(_strings(df, "phone"))
    guardians = _strings(df, "guardian_name")
    values, _ = _distinct(guardians)
    _prime_simplified(p.strip() for v in values for p in GUARDIAN_SEPARATORS.split(v))
    cols["gd"] = _apply(guardians, _guardians)
    table = pa.table({name: cols[name] for name in FEATURES})
    out = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    out.index = df.index
    del cols, table, named, parts, keys, indices
    _release_memory()
    return out
