"""REST API plumbing shared by every app: one error shape that names the field and the reason; JSON bodies
whose text no database could store refused; pages of at most ``Pagination.max_limit`` rows."""

import io
import re

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .middleware import message, unstorable


def exception_handler(exc, context):
    """DRF's handler, plus: Django ``ValidationError`` from services becomes a 400 with field errors.

    Every error body is ``{"detail": "...", "errors": {field: [messages]}}`` so that clients find the
    field and the reason in the same place whatever failed.
    """
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            {"detail": "输入有误 (invalid input)", "errors": errors}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("未找到或无权访问 (not found)")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied("无权执行此操作 (permission denied)")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"detail": "输入有误 (invalid input)", "errors": errors}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": str(data["detail"]), "errors": {}}
    return response


class ScopedViewSetMixin:
    """Viewsets start from ``Model.objects.visible_to(user, action)``: reads use ``view``, writes ``change``.

    Objects outside the scope are a 404 like missing ones; ``perform_create``/``perform_update`` must
    call the app's service so that the write is re-checked and audited.
    """

    lookup_field = "uuid"
    scoped_model = None

    def scope_action(self) -> str:
        return "view" if self.request.method in ("GET", "HEAD", "OPTIONS") else "change"

    def get_queryset(self):
        return self.scoped_model.objects.visible_to(self.request.user, self.scope_action())


class AuditedListMixin:
    """For a ``ScopedViewSetMixin`` viewset whose rows are person-level: the page a list returns is audited
    (``audit_list``: one ``search`` event naming its rows and the query)."""

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())  # a malformed filter is a 400 here
        page = self.paginate_queryset(queryset)
        rows = list(page if page is not None else queryset)
        self.audit_list(request, rows)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def audit_list(self, request, rows) -> None:
        from weibao.audit.models import AuditAction
        from weibao.audit.services import record

        meta = self.scoped_model._meta
        record(
            request.user,
            AuditAction.SEARCH,
            object_type=f"{meta.app_label}.{meta.model_name}",
            extra={
                "ids": [str(getattr(row, "uuid", None) or row.pk) for row in rows],
                "query": self.audited_query(request),
            },
        )

    def audited_query(self, request) -> dict:
        """The query as the audit trail keeps it (a viewset whose filters may hold identifiers masks them)."""
        return {k: request.query_params.getlist(k) for k in request.query_params}


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
