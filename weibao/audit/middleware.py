"""Gives every request an id and remembers its client address for the audit trail."""

import ipaddress
import uuid

from django.conf import settings

from .context import audit_context


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address: behind our own proxy the first of ``X-Forwarded-For`` when it is an address
    (a header saying ``unknown`` or ``host:port`` is not, and the audit trail stores addresses), else the
    connection's."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):  # behind our own proxy: trust its header
        forwarded = _address(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0])
        if forwarded:
            return forwarded
    return _address(request.META.get("REMOTE_ADDR") or "")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = str(uuid.uuid4())
        request.request_id = request_id
        with audit_context(ip=client_ip(request), request_id=request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response
