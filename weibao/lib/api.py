"""REST API plumbing shared by every app: one error shape that names the field and the reason, scoped and
audited viewsets. (The parser and the pagination DRF's settings name live in ``lib.api_defaults``.)"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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
