"""Reading arbitrary CSV files for ``manage.py link_files``: encoding detection (UTF-8, BOM, GBK/GB18030),
``COLUMN=ROLE`` mappings, and checks that fail with a message naming the column and the reason."""

import io
from pathlib import Path

import pandas as pd

from weibao.lib.tabular import TableError, decode

from .features import ROLES, FeatureError, parse_date


class InputError(ValueError):
    """Bad input: the message names the file/column and the reason."""


def parse_mappings(items: list[str]) -> dict[str, str]:
    """``["姓名=full_name", "dob=birth_date"]`` → {column: role}."""
    out = {}
    for item in items:
        column, sep, role = item.rpartition("=")
        if not sep or not column.strip():
            raise InputError(f"--map “{item}”: expected COLUMN=ROLE")
        role = role.strip()
        if role not in ROLES:
            raise InputError(f"--map “{item}”: unknown role “{role}” (roles: {', '.join(ROLES)})")
        out[column.strip()] = role
    roles = list(out.values())
    for role in set(roles):
        if roles.count(role) > 1 and role not in ("guardian_name", "address"):
            raise InputError(f"--map: role “{role}” is given to more than one column")
    if not out:
        raise InputError("--map: map at least one column to a role")
    return out


def read_csv(path: str | Path, id_column: str, mappings: dict[str, str]) -> pd.DataFrame:
    """Read one CSV into ``unique_id`` + role columns (several guardian/address columns are joined)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not data.strip():
        raise InputError(f"{path}: the file is empty")
    try:
        text, _encoding = decode(data)
    except TableError as exc:
        raise InputError(f"{path}: {exc}") from None
    if "\x00" in text:
        raise InputError(
            f"{path}: not a text CSV file (NUL bytes; UTF-16 or binary?) — save it as UTF-8 or GBK"
        )
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable CSV ({str(exc).strip()})") from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise InputError(f"{path}: no data rows under the header")
    for column in [id_column, *mappings]:
        if column not in df.columns:
            raise InputError(f"{path}: column “{column}” not found (columns: {', '.join(df.columns)})")
    ids = df[id_column].str.strip()
    if (ids == "").any():
        row = int((ids == "").to_numpy().argmax()) + 2
        raise InputError(f"{path}: column “{id_column}” is empty in row {row}")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"{path}: column “{id_column}” is not unique (“{dup.iloc[0]}” repeats)")
    out = pd.DataFrame({"unique_id": ids})
    for role in ROLES:
        columns = [c for c, r in mappings.items() if r == role]
        if not columns:
            continue
        values = df[columns[0]].str.strip()
        for extra in columns[1:]:
            values = values.str.cat(df[extra].str.strip(), sep="；").str.strip("；")
        out[role] = values
    if "birth_date" in out:
        column = next(c for c, r in mappings.items() if r == "birth_date")
        for i, value in enumerate(out["birth_date"]):
            if value:
                try:
                    parse_date(value)
                except FeatureError as exc:
                    raise InputError(f"{path}: column “{column}”, row {i + 2}: {exc}") from None
    return out
