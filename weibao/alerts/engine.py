"""Screening: run the active rules' compiled SQL over a snapshot in DuckDB, then write alerts back.

``screen()`` without persons is the full re-screen; with ``person_ids`` it is incremental (only those
persons' rows are loaded). Both run the very same SQL (every active version in one query,
``conditions.compile_many``) over a snapshot scoped to what those rules read, so they give the same alerts.
"""

import datetime
import time
from dataclasses import dataclass, field

from django.utils import timezone

from . import snapshot
from .choices import RuleStatus
from .conditions import compile_many, compile_sql
from .models import Rule, RuleVersion


@dataclass
class ScreenResult:
    persons: int = 0
    rules: int = 0
    flagged: int = 0
    new_alerts: int = 0
    evidence_added: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "persons": self.persons,
            "rules": self.rules,
            "flagged": self.flagged,
            "new_alerts": self.new_alerts,
            "evidence_added": self.evidence_added,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def set_today(con, today: datetime.date) -> None:
    con.execute(f"SET VARIABLE today = DATE '{today.isoformat()}'")


def evaluate(con, definition, today: datetime.date) -> dict[int, list[int]]:
    """Run one definition's SQL on a snapshot connection: person id → evidence event ids."""
    set_today(con, today)
    rows = con.execute(compile_sql(definition)).fetchall()
    return {int(person): [int(e) for e in events] for person, events in rows}


def active_versions() -> list[RuleVersion]:
    rules = Rule.objects.filter(status=RuleStatus.ACTIVE, current__isnull=False)
    return list(RuleVersion.objects.filter(pk__in=rules.values("current_id")).select_related("level", "rule"))


def collect_hits(con, versions, today: datetime.date) -> int:
    """Run every version's SQL, all in one query (``compile_many``: what they share is worked out once), into
    one DuckDB table ``hits(rule_id, version_id, person_id, event_id)``: one row per evidence event, or one row
    with a NULL event for a person flagged without events."""
    set_today(con, today)
    con.execute(
        "CREATE OR REPLACE TABLE hits (rule_id BIGINT, version_id BIGINT, person_id BIGINT, event_id BIGINT)"
    )
    if not versions:
        return 0
    keys = ", ".join(f"({i}, {int(v.rule_id)}, {int(v.pk)})" for i, v in enumerate(versions))
    con.execute(
        "INSERT INTO hits SELECT k.rule_id, k.version_id, r.person_id, "  # noqa: S608 - ints and compiled SQL
        "unnest(CASE WHEN len(r.event_ids) = 0 THEN [NULL::BIGINT] ELSE r.event_ids END) "
        f"FROM ({compile_many([v.definition for v in versions])}) r "
        f"JOIN (VALUES {keys}) k(rule, rule_id, version_id) ON k.rule = r.rule"
    )
    return con.execute("SELECT count(DISTINCT (rule_id, person_id)) FROM hits").fetchall()[0][0]


def screen(person_ids=None, *, actor=None, today: datetime.date | None = None, threads=None) -> ScreenResult:
    """Screen everyone (``person_ids=None``) or the given persons with every active rule."""
    from .services import upsert_alerts

    today = today or timezone.localdate()
    result = ScreenResult()
    versions = active_versions()
    result.rules = len(versions)
    if person_ids is not None:
        person_ids = sorted(set(person_ids))
        if not person_ids or not versions:
            return result
    t = time.perf_counter()
    con = snapshot.take(
        person_ids, threads=threads, today=today, definitions=[v.definition for v in versions]
    )
    try:
        result.persons = con.execute("SELECT count(*) FROM persons").fetchall()[0][0]
        result.seconds["snapshot"] = time.perf_counter() - t
        t = time.perf_counter()
        result.flagged = collect_hits(con, versions, today)
        result.seconds["rules"] = time.perf_counter() - t
        t = time.perf_counter()
        result.new_alerts, result.evidence_added = upsert_alerts(
            con, actor=actor, full=person_ids is None, rules=len(versions)
        )
        result.seconds["alerts"] = time.perf_counter() - t
    finally:
        con.close()
    return result
