"""The classes DRF's settings name: JSON bodies whose text no database could store refused, pages of at most
``Pagination.max_limit`` rows. Apart from ``lib.api`` on purpose: that module imports DRF's views, whose
classes read these settings when they are defined — a settings target importing them would be circular."""

import io
import re

from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser

from .middleware import message, unstorable


class Pagination(LimitOffsetPagination):
    """``?limit=&offset=``; a larger ``limit`` is cut to ``max_limit`` (no request reads a whole table)."""

    max_limit = 1000


def _first_unstorable(value, path: str) -> str | None:
    if isinstance(value, str):
        return path if unstorable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if unstorable(key):
                return name
            found = _first_unstorable(item, name)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_unstorable(item, f"{path}[{i}]")
            if found:
                return found
    return None


class StrictJSONParser(JSONParser):
    """JSON, refusing a body with a NUL character or a lone surrogate (``"\\u0000"``, ``"\\ud800"``) in any
    text with a 400 naming where it is (``records[3].name``): PostgreSQL could not store it, and a feed
    batch would otherwise fail on landing, every resend alike. (Raw NUL bytes and broken UTF-8 are invalid
    JSON already.) Only a body whose text holds such an escape is walked."""

    ESCAPES = re.compile(rb"\\u(?:0000|d[89a-f])", re.IGNORECASE)

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(body), media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON 嵌套过深 (JSON nested too deeply)") from None
        if self.ESCAPES.search(body):
            path = _first_unstorable(data, "")
            if path is not None:
                path = path or "body"
                raise exceptions.ValidationError({path: [message(path)]})
        return data
