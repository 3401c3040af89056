"""Who is acting, from where, in which request: set by the middleware or by a command, read by ``record``."""

import contextvars
import uuid
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditContext:
    ip: str | None = None
    request_id: str = ""


_EMPTY = AuditContext()
_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "weibao_audit_context", default=None
)


def current() -> AuditContext:
    return _current.get() or _EMPTY


@contextmanager
def audit_context(ip: str | None = None, request_id: str | None = None):
    token = _current.set(AuditContext(ip=ip, request_id=request_id or str(uuid.uuid4())))
    try:
        yield
    finally:
        _current.reset(token)
