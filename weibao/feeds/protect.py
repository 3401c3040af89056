"""Identifiers in landing records are stored encrypted (DESIGN.md §6; decision in docs/decisions.md).

A landing record keeps the record exactly as received, except that the value of each identifier column
(the column mapped to ``id_number``) — and the whole text of a line that could not be parsed, which may
hold one — is replaced by ``{"__enc__": base64(ciphertext)}`` (``"json": true`` when the value was not
text). The ciphertext is ``weibao.lib.crypto``'s format, so ``received()`` gives back the record exactly
as sent; only code acting for someone allowed to fix the record (the sending department, the city
office) calls it.
"""

import base64
import json

from weibao.lib.crypto import DecryptionError, decrypt, encrypt_many
from weibao.lib.masking import mask_id_number

from .readers import UNPARSED, UNSTORABLE

MARK = "__enc__"


def identifier_columns(validator) -> tuple[str, ...]:
    return (validator.columns["id_number"],)


def _is_sealed(value) -> bool:
    return isinstance(value, dict) and MARK in value and set(value) <= {MARK, "json"}


def protect_many(raws: list, columns: tuple[str, ...]) -> tuple[list, list]:
    """``(stored, sealed)``: each raw record with its identifier values encrypted, and per record the
    ``(plain text, ciphertext)`` of its first identifier (``None`` if it has none) for reuse."""
    plain, where = [], []
    for pos, raw in enumerate(raws):
        if not isinstance(raw, dict):
            continue
        if UNPARSED in raw:
            value = raw[UNPARSED]
            if isinstance(value, str) and value:
                plain.append(value)
                where.append((pos, UNPARSED, False))
            continue
        for column in columns:
            value = raw.get(column)
            if value is None or value == "" or _is_sealed(value):
                continue
            if isinstance(value, str):
                plain.append(value)
                where.append((pos, column, False))
            else:
                plain.append(json.dumps(value, ensure_ascii=False))
                where.append((pos, column, True))
    stored = list(raws)
    sealed: list = [None] * len(raws)
    if not plain:
        return stored, sealed
    b64 = base64.b64encode
    for (pos, column, as_json), text, cipher in zip(where, plain, encrypt_many(plain), strict=True):
        if stored[pos] is raws[pos]:
            stored[pos] = dict(raws[pos])
        stored[pos][column] = (
            {MARK: b64(cipher).decode(), "json": True} if as_json else {MARK: b64(cipher).decode()}
        )
        if sealed[pos] is None and column != UNPARSED:
            sealed[pos] = (text, cipher)
    return stored, sealed


def protect(raw, columns: tuple[str, ...]):
    return protect_many([raw], columns)[0][0]


def _open(value):
    try:
        text = decrypt(base64.b64decode(value[MARK]))
    except (DecryptionError, ValueError):
        return value
    return json.loads(text) if value.get("json") else text


def _masked(value):
    text = _open(value)
    if text is value:
        return value
    return mask_id_number(text if isinstance(text, str) else json.dumps(text, ensure_ascii=False))


def received(raw, *, masked: bool = False):
    """The record exactly as received (identifier values decrypted) — or, with ``masked``, with those values
    masked (``mask_id_number``: first 6 and last 4 characters), for someone who may not see them whole
    (``access.may_read_landing_in_clear``)."""
    if not isinstance(raw, dict) or not any(_is_sealed(v) for v in raw.values()):
        return raw
    show = _masked if masked else _open
    return {k: (show(v) if _is_sealed(v) else v) for k, v in raw.items()}


def ciphertext_of(value) -> bytes | None:
    """The stored ciphertext of a sealed value (reused for the identity document), else ``None``."""
    if _is_sealed(value) and not value.get("json"):
        try:
            return base64.b64decode(value[MARK])
        except ValueError:
            return None
    return None


def _escaped(text: str) -> str:
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()


def escape_unstorable(raw: dict) -> dict:
    """A record holding text no database can store — a NUL character (PostgreSQL refuses it), half of a
    surrogate pair (no UTF-8 for it) — as a copy with that text escaped (``\\x00``, ``\\ud800``; a nested
    value as its ASCII JSON text) and ``UNSTORABLE`` naming the columns concerned, so that the record lands,
    readably, and is rejected for them (``validation``) instead of stopping the whole batch."""
    out, columns = {}, []
    for key, value in raw.items():
        name = _escaped(key)
        if isinstance(value, str):
            text = _escaped(value)
        elif isinstance(value, (dict, list)):
            dumped = json.dumps(value, ensure_ascii=False)  # NUL comes out as \\u0000
            text = value if _escaped(dumped) == dumped and "\\u0000" not in dumped else json.dumps(value)
        else:
            text = value
        if text != value or name != key:
            columns.append(name)
        out[name] = text
    out[UNSTORABLE] = columns
    return out
