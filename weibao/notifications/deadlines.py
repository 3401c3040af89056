"""Deadlines across apps: each app registers a checker; one command and one task run them all.

A checker is ``f(now) -> int``: it finds the steps of its app that are overdue at ``now`` and have not
been escalated yet, escalates them (usually ``notify(..., escalation=True)`` to the district office, and
an audit event) and returns how many it escalated. Checkers must be idempotent: run every few minutes,
an overdue step escalates once. Code reads the time through ``django.utils.timezone.now()`` only, so tests
control the clock with ``time_machine``.
"""

from collections.abc import Callable

from django.utils import timezone

_checkers: dict[str, Callable] = {}


def register(name: str):
    def decorator(func):
        _checkers[name] = func
        return func

    return decorator


def check_all(now=None) -> dict[str, int]:
    now = now or timezone.now()
    return {name: checker(now) for name, checker in sorted(_checkers.items())}
