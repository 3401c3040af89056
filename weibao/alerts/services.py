"""Every write of the alerts app: rules and their versions, screening results, alert transitions.

Each write records an audit event in the same transaction.
"""

import datetime
import logging
from collections import defaultdict

import yaml
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from weibao.accounts.models import Area
from weibao.audit.models import AuditAction
from weibao.audit.services import record, record_many
from weibao.lib.bulk import id_in, stage_arrow
from weibao.notifications.services import (
    district_offices,
    notify,
    notify_organisations,
    workstations,
)

from . import conditions
from .choices import OPEN_STATES, TRANSITIONS, AlertState, Outcome, Recipient, RuleStatus
from .models import Alert, AlertLevel, AlertTransition, Rule, RuleVersion

log = logging.getLogger(__name__)
VERSION_FIELDS = ("name", "description", "definition", "level", "recipient", "deadline_hours")
CODE_LENGTH, NAME_LENGTH = 60, 100  # Rule.code, RuleVersion.name
# The open states as an SQL list, for the set-based statements below (the values are fixed identifiers).
OPEN_SQL = "(" + ", ".join(f"'{state.value}'" for state in OPEN_STATES) + ")"


# --- rules ----------------------------------------------------------------------------------------------


def _version_dict(v: RuleVersion | None) -> dict | None:
    if v is None:
        return None
    return {
        "number": v.number,
        "name": v.name,
        "description": v.description,
        "definition": v.definition,
        "level": v.level.code,
        "recipient": v.recipient,
        "deadline_hours": v.deadline_hours,
    }


def _check_version(data: dict) -> None:
    errors = {}
    if not str(data.get("name") or "").strip():
        errors["name"] = ["必填 (required)"]
    elif len(str(data["name"]).strip()) > NAME_LENGTH:
        errors["name"] = [f"不能超过 {NAME_LENGTH} 个字符 (at most {NAME_LENGTH} characters)"]
    hours = data.get("deadline_hours")
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= 24 * 90:
        errors["deadline_hours"] = ["必须是 1–2160 的整数小时 (must be 1–2160 hours)"]
    if data.get("recipient") not in Recipient.values:
        errors["recipient"] = [
            "必须是 workstation 或 district_office (must be workstation or district_office)"
        ]
    if not isinstance(data.get("level"), AlertLevel):
        errors["level"] = ["没有这个预警等级 (unknown alert level)"]
    try:
        conditions.validate(data.get("definition"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def _check_code(code) -> None:
    """A rule code: a slug (letters, digits, ``-``, ``_``) of at most 60 characters."""
    if not isinstance(code, str) or not code:
        raise ValidationError({"code": ["必填 (required)"]})
    if len(code) > CODE_LENGTH:
        raise ValidationError({"code": [f"不能超过 {CODE_LENGTH} 个字符 (at most {CODE_LENGTH} characters)"]})
    try:
        validate_slug(code)
    except ValidationError as exc:
        raise ValidationError(
            {"code": ["只能包含字母、数字、连字符和下划线 (letters, digits, hyphens and underscores only)"]}
        ) from exc


def save_rule(*, actor, data: dict, rule: Rule | None = None, code: str = "", reason: str = "") -> Rule:
    """Create a rule (draft) or give an existing one a new version. ``data`` holds the VERSION_FIELDS."""
    data = {k: data.get(k) for k in VERSION_FIELDS}
    data["name"] = str(data.get("name") or "").strip()
    data["description"] = str(data.get("description") or "")
    _check_version(data)
    with transaction.atomic():
        if rule is None:
            _check_code(code)
            if Rule.objects.filter(code=code).exists():
                raise ValidationError({"code": ["代码必填且不能重复 (code required and unique)"]})
            try:  # two creations at once both pass the check above: the unique constraint decides
                with transaction.atomic():
                    rule = Rule.objects.create(code=code)
            except IntegrityError:
                raise ValidationError({"code": ["代码必填且不能重复 (code required and unique)"]}) from None
            before, number = None, 1
        else:
            rule = Rule.objects.select_for_update().get(pk=rule.pk)
            before = _version_dict(rule.current)
            number = (rule.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = RuleVersion.objects.create(rule=rule, number=number, created_by=actor, **data)
        rule.current = version
        rule.save(update_fields=["current", "updated"])
        record(
            actor,
            AuditAction.CREATE if before is None else AuditAction.UPDATE,
            rule,
            before=before,
            after=_version_dict(version),
            reason=reason,
        )
    return rule


def set_status(rule: Rule, status: str, *, actor, reason: str = "") -> Rule:
    allowed = {
        RuleStatus.ACTIVE: (RuleStatus.DRAFT, RuleStatus.RETIRED),
        RuleStatus.RETIRED: (RuleStatus.ACTIVE,),
    }
    if rule.status not in allowed.get(status, ()):
        raise ValidationError(
            {
                "status": [
                    f"规则当前为“{rule.get_status_display()}”，不能改为该状态 (not allowed from {rule.status})"
                ]
            }
        )
    with transaction.atomic():
        before = rule.status
        rule.status = status
        rule.save(update_fields=["status", "updated"])
        record(
            actor,
            AuditAction.UPDATE,
            rule,
            before={"status": before},
            after={"status": status},
            reason=reason,
        )
    return rule


def dry_run(definition, *, today: datetime.date | None = None) -> list[int]:
    """The person ids a definition would flag today (validated first); nothing is written."""
    from . import engine, snapshot

    conditions.validate(definition)
    today = today or timezone.localdate()
    con = snapshot.take(today=today, definitions=[definition])
    try:
        return sorted(engine.evaluate(con, definition, today))
    finally:
        con.close()


def dry_run_sample(user, definition, *, limit: int = 10, today: datetime.date | None = None):
    """Dry-run ``definition``: (how many persons it flags, the first ``limit`` of them ``user`` may see in the
    alert scope, by id). Scoped before the sample is cut, so it is never empty while some are visible; the
    persons shown are recorded as a search (person-level data)."""
    from weibao.accounts import access
    from weibao.registry.models import Person

    ids = dry_run(definition, today=today)
    visible = access.alert_scope(Person.objects.all(), user, access.VIEW, prefix="")
    sample: list = []
    for start in range(0, len(ids), 500):  # bounded IN lists, stop as soon as the sample is full
        chunk = visible.filter(pk__in=ids[start : start + 500])
        sample += chunk.select_related("street").order_by("pk")[: limit - len(sample)]
        if len(sample) >= limit:
            break
    record(
        user,
        AuditAction.SEARCH,
        object_type="registry.person",
        object_repr="规则试运行",
        extra={"dry_run": True, "count": len(ids), "person_ids": [p.pk for p in sample]},
    )
    return len(ids), sample


# --- YAML ---------------------------------------------------------------------------------------------


def export_yaml(rules) -> str:
    out = []
    for rule in rules:
        v = rule.current
        out.append(
            {
                "code": rule.code,
                "status": rule.status,
                "version": v.number,
                "name": v.name,
                "description": v.description,
                "level": v.level.code,
                "recipient": v.recipient,
                "deadline_hours": v.deadline_hours,
                "definition": v.definition,
            }
        )
    return yaml.safe_dump({"rules": out}, allow_unicode=True, sort_keys=False)


def import_yaml(text: str, *, actor, reason: str = "YAML import") -> list[Rule]:
    """Create or re-version rules from YAML; all or nothing. Unchanged rules get no new version."""
    try:
        doc = conditions.load_yaml(text)
    except yaml.YAMLError as exc:
        raise ValidationError({"file": [f"不是有效的 YAML (not valid YAML): {exc}"]}) from exc
    except conditions.YamlTooDeep:  # "[" * 1000, an alias of its own ancestor
        raise ValidationError({"file": ["嵌套过深 (nested too deeply)"]}) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise ValidationError({"file": ["顶层必须是 rules: [...] (top level must be rules: [...])"]})
    levels = {lvl.code: lvl for lvl in AlertLevel.objects.all()}
    saved = []
    with transaction.atomic():
        for i, item in enumerate(doc["rules"]):
            if not isinstance(item, dict) or not isinstance(item.get("code"), str):
                raise ValidationError({f"rules[{i}].code": ["必填 (required)"]})
            level = item.get("level")  # a list or a mapping here would be unhashable: codes are strings
            data = {k: item.get(k) for k in VERSION_FIELDS}
            for field in ("name", "description"):
                if not isinstance(data[field] or "", str):
                    raise ValidationError({f"rules[{i}].{field}": ["须为文字 (must be text)"]})
            data["name"] = (data["name"] or "").strip()
            data["description"] = data["description"] or ""  # as save_rule stores it
            data["level"] = levels.get(level) if isinstance(level, str) else None
            data["recipient"] = item.get("recipient") or Recipient.WORKSTATION
            try:
                _check_code(item["code"])
                # bounded before anything walks or compares it (YAML aliases can expand a small file)
                conditions.validate(data["definition"])
                rule = Rule.objects.filter(code=item["code"]).select_related("current__level").first()
                unchanged = rule is not None and _version_dict(rule.current) | {"number": 0} == {
                    **{k: data[k] for k in VERSION_FIELDS},
                    "level": getattr(data["level"], "code", None),
                    "number": 0,
                }
                if not unchanged:
                    rule = save_rule(actor=actor, data=data, rule=rule, code=item["code"], reason=reason)
                status = item.get("status")  # applied to unchanged rules too: a status-only change
                if status in (RuleStatus.ACTIVE, RuleStatus.RETIRED) and rule.status != status:
                    set_status(rule, status, actor=actor, reason=reason)
            except ValidationError as exc:
                raise ValidationError(
                    {f"rules[{i}]({item['code'][:CODE_LENGTH]}).{k}": v for k, v in exc.message_dict.items()}
                ) from exc
            saved.append(rule)
    return saved


# --- screening results ---------------------------------------------------------------------------------


# What screening compares its hits with: the open alerts and their evidence (DuckDB column types).
OPEN_ALERTS = {"id": "BIGINT", "rule_id": "BIGINT", "person_id": "BIGINT"}
OPEN_EVIDENCE = {"alert_id": "BIGINT", "event_id": "BIGINT"}


def _load_open(cursor, con, person_ids) -> None:
    """The open alerts (of ``person_ids``, or all) and their evidence into the DuckDB connection ``con``."""
    from . import snapshot

    where, params = "", []
    if person_ids is not None:
        where, params = id_in("a.person_id", person_ids)
        where = f" AND {where}"
    alerts = snapshot.fetch(
        cursor,
        f"SELECT a.id, a.rule_id, a.person_id FROM alerts_alert a WHERE a.state IN {OPEN_SQL}{where}",
        params,
        OPEN_ALERTS,
        chunk_by="id",
    )
    evidence = snapshot.fetch(
        cursor,
        "SELECT e.alert_id, e.event_id FROM alerts_alertevidence e JOIN alerts_alert a ON a.id = e.alert_id "
        f"WHERE a.state IN {OPEN_SQL}{where}",
        params,
        OPEN_EVIDENCE,
        chunk_by="alert_id",
    )
    for name, table in (("open_alerts", alerts), ("open_evidence", evidence)):
        con.register(f"_{name}", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _{name}")  # noqa: S608 - fixed names
        con.unregister(f"_{name}")


def upsert_alerts(con, *, actor=None, full: bool, rules: int = 0) -> tuple[int, int]:
    """Set-based: open an alert for each newly flagged (rule, person), add new evidence to open ones (their
    ``last_fired_at`` moves to now), refresh the risk summaries, tell each recipient organisation once.
    Returns (new alerts, evidence added).

    ``con`` is the DuckDB connection of the screening, holding the table ``hits(rule_id, version_id,
    person_id, event_id)`` from ``engine.collect_hits``. What is new is decided there: the open alerts (of
    the persons hit, or all on a full run) and their evidence are read into DuckDB under a lock on the
    alerts table (PostgreSQL; SQLite writes one at a time anyway), and only the new alerts and the new
    evidence go back to the database.
    """
    if not con.execute("SELECT count(*) FROM hits").fetchall()[0][0]:
        return 0, 0
    hit_persons = None
    if not full:
        hit_persons = [r[0] for r in con.execute("SELECT DISTINCT person_id FROM hits ORDER BY 1").fetchall()]
    return _upsert(con, actor=actor, full=full, rules=rules, hit_persons=hit_persons)


def _upsert(con, *, actor, full: bool, rules: int, hit_persons) -> tuple[int, int]:
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    postgres = connection.vendor == "postgresql"
    new_uuid = "gen_random_uuid()" if postgres else "lower(hex(randomblob(16)))"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # Open alerts must not close (nor open elsewhere) between reading them and writing what is new:
            # EXCLUSIVE still lets everyone read, and is taken before any row lock (no deadlock).
            cursor.execute("LOCK TABLE alerts_alert IN EXCLUSIVE MODE")
        _load_open(cursor, con, hit_persons)
        new = con.sql(
            "SELECT DISTINCT h.rule_id, h.version_id, h.person_id FROM hits h WHERE NOT EXISTS ("
            "SELECT 1 FROM open_alerts o WHERE o.rule_id = h.rule_id AND o.person_id = h.person_id)"
        ).to_arrow_table()
        # new evidence: ``alert_id`` the open alert it adds to, NULL for an alert opened just now
        evidence = con.sql(
            "SELECT DISTINCT o.id AS alert_id, h.rule_id, h.person_id, h.event_id FROM hits h LEFT JOIN open_alerts o "
            "ON o.rule_id = h.rule_id AND o.person_id = h.person_id WHERE h.event_id IS NOT NULL AND NOT EXISTS ("
            "SELECT 1 FROM open_evidence e WHERE e.alert_id = o.id AND e.event_id = h.event_id)"
        ).to_arrow_table()
        new_alerts = evidence_added = 0
        new_by_place, new_persons = [], []
        if new.num_rows:
            stage_arrow(cursor, "screen_new", new)
            if postgres:
                deadline = "%s::timestamptz + v.deadline_hours * interval '1 hour'"
            else:  # Django keeps SQLite datetimes as UTC text
                deadline = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || v.deadline_hours || ' hours')"
            cursor.execute(
                "INSERT INTO alerts_alert (uuid, rule_id, rule_version_id, person_id, state, outcome, "
                "visit_result, fired_at, last_fired_at, deadline, escalated_at, closed_at) "
                f"SELECT {new_uuid}, n.rule_id, n.version_id, n.person_id, 'new', '', '', %s, %s, {deadline}, "
                "NULL, NULL FROM screen_new n JOIN alerts_ruleversion v ON v.id = n.version_id "
                # the same (rule, person) twice (two versions of a rule) opens one alert: the partial unique
                # constraint skips the second row instead of aborting the transaction. ``WHERE true``: SQLite
                # would otherwise parse ON as a join constraint.
                "WHERE true ON CONFLICT DO NOTHING",
                [at, at, at],
            )
            new_alerts = cursor.rowcount
            cursor.execute(
                "SELECT v.recipient, p.street_id, count(*) FROM (SELECT DISTINCT rule_id, person_id FROM screen_new) n "
                "JOIN alerts_alert a ON a.rule_id = n.rule_id AND a.person_id = n.person_id AND a.fired_at = %s "
                "JOIN alerts_ruleversion v ON v.id = a.rule_version_id JOIN registry_person p ON p.id = a.person_id "
                "GROUP BY v.recipient, p.street_id",
                [at],
            )
            new_by_place = cursor.fetchall()
            cursor.execute("DROP TABLE screen_new")
            new_persons = sorted(set(new.column("person_id").to_pylist()))
        if evidence.num_rows:
            stage_arrow(cursor, "screen_evidence", evidence)
            cursor.execute(
                "INSERT INTO alerts_alertevidence (alert_id, event_id, added_at) "
                "SELECT a.id, s.event_id, %s FROM screen_evidence s JOIN alerts_alert a ON a.id = s.alert_id "
                f"AND a.state IN {OPEN_SQL} WHERE true ON CONFLICT DO NOTHING",
                [at],
            )
            evidence_added = cursor.rowcount
            # fired again: an open alert found earlier that this screening brought new evidence to
            cursor.execute(
                f"UPDATE alerts_alert SET last_fired_at = %s WHERE state IN {OPEN_SQL} "
                "AND id IN (SELECT alert_id FROM screen_evidence)",
                [at],
            )
            cursor.execute(
                "INSERT INTO alerts_alertevidence (alert_id, event_id, added_at) "
                "SELECT a.id, s.event_id, %s FROM screen_evidence s JOIN alerts_alert a ON a.rule_id = s.rule_id "
                f"AND a.person_id = s.person_id AND a.state IN {OPEN_SQL} WHERE s.alert_id IS NULL "
                "ON CONFLICT DO NOTHING",
                [at],
            )
            evidence_added += cursor.rowcount
            cursor.execute("DROP TABLE screen_evidence")
        # a risk score changes with the open alerts only: everyone's compared on a full run (repairs any drift)
        refresh_risk(None if full else new_persons)
        record(
            actor,
            AuditAction.CREATE,
            object_type="alerts.screening",
            object_repr="全量筛查" if full else "增量筛查",
            extra={"new_alerts": new_alerts, "evidence_added": evidence_added, "rules": rules},
        )
        _notify_new(new_by_place)
    return new_alerts, evidence_added


def _notify_new(new_by_place) -> None:
    """One message per recipient organisation and run: how many new alerts, where to look (no person data)."""
    areas = Area.objects.in_bulk({street for _r, street, _n in new_by_place if street})
    offices = {
        Recipient.WORKSTATION: workstations(areas.values()),
        Recipient.DISTRICT_OFFICE: district_offices(areas.values()),
    }
    per_org: dict = defaultdict(int)
    for recipient, street, count in new_by_place:
        org = offices[
            Recipient.DISTRICT_OFFICE if recipient == Recipient.DISTRICT_OFFICE else Recipient.WORKSTATION
        ].get(street)
        if org is not None:
            per_org[org] += count
    notify_organisations(
        {org: f"新预警 {count} 条，请及时签收处置" for org, count in per_org.items()},
        body="预警详情请登录系统查看。",
        url=reverse("alerts:alert_list") + "?state=new",
        kind="alert",
    )


def refresh_risk(person_ids=None) -> None:
    """Recompute risk summaries from open alerts, set-based, for everyone or the given persons: only the rows
    that change are written (a full re-screen compares every person's, and writes almost none)."""
    where, params = "", []
    if person_ids is not None:
        if not person_ids:
            return
        where, params = id_in("person_id", person_ids)
        where = f" AND {where}"
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE screen_risk AS SELECT person_id, sum(l.weight) AS score, count(*) AS open_alerts "
            "FROM alerts_alert a JOIN alerts_ruleversion v ON v.id = a.rule_version_id "
            f"JOIN alerts_alertlevel l ON l.id = v.level_id WHERE a.state IN {OPEN_SQL}{where} GROUP BY person_id",
            params,
        )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE screen_risk")
        cursor.execute(
            f"DELETE FROM alerts_risksummary WHERE 1 = 1{where} AND NOT EXISTS (SELECT 1 FROM screen_risk s "
            "WHERE s.person_id = alerts_risksummary.person_id)",
            params,
        )
        cursor.execute(
            "UPDATE alerts_risksummary SET score = s.score, open_alerts = s.open_alerts, updated = %s "
            "FROM screen_risk s WHERE s.person_id = alerts_risksummary.person_id "
            "AND (alerts_risksummary.score <> s.score OR alerts_risksummary.open_alerts <> s.open_alerts)",
            [at],
        )
        cursor.execute(
            "INSERT INTO alerts_risksummary (person_id, score, open_alerts, updated) "
            "SELECT s.person_id, s.score, s.open_alerts, %s FROM screen_risk s WHERE NOT EXISTS ("
            "SELECT 1 FROM alerts_risksummary r WHERE r.person_id = s.person_id)",
            [at],
        )
        cursor.execute("DROP TABLE screen_risk")


# --- alert transitions -----------------------------------------------------------------------------------


def transition(
    alert: Alert, to_state: str, *, actor, reason: str, outcome: str = "", visit_result: str = ""
) -> Alert:
    """Move an alert one step on (new → acknowledged → visiting → closed), with a reason."""
    reason, visit_result = (reason or "").strip(), (visit_result or "").strip()
    errors = {}
    if to_state not in TRANSITIONS.get(alert.state, ()):
        errors["to_state"] = [
            f"预警当前为“{alert.get_state_display()}”，不能转为该状态 (not allowed from {alert.state})"
        ]
    if not reason:
        errors["reason"] = ["必须填写事由 (a reason is required)"]
    if to_state == AlertState.CLOSED:
        if outcome not in Outcome.values:
            errors["outcome"] = ["关闭时必须选择处置结果 (an outcome is required to close)"]
        elif outcome == Outcome.CASE_OPENED and not alert.cases.exists():
            errors["outcome"] = ["须先由本预警立案，再以“已立案”关闭 (open a case from this alert first)"]
        if not (visit_result or alert.visit_result):
            errors["visit_result"] = ["关闭前必须记录走访情况 (record the visit result before closing)"]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if to_state not in TRANSITIONS.get(alert.state, ()):  # someone else moved it meanwhile
            raise ValidationError(
                {
                    "to_state": [
                        f"预警当前为“{alert.get_state_display()}”，不能转为该状态 (not allowed from {alert.state})"
                    ]
                }
            )
        before = {"state": alert.state}
        AlertTransition.objects.create(
            alert=alert, from_state=alert.state, to_state=to_state, reason=reason, actor=actor, at=now
        )
        alert.state = to_state
        if visit_result:
            alert.visit_result = visit_result
        if to_state == AlertState.CLOSED:
            alert.outcome, alert.closed_at = outcome, now
        alert.save(update_fields=["state", "visit_result", "outcome", "closed_at"])
        record(
            actor,
            AuditAction.UPDATE,
            alert,
            before=before,
            after={"state": to_state, "outcome": alert.outcome},
            reason=reason,
        )
        if to_state == AlertState.CLOSED:
            refresh_risk([alert.person_id])
    return alert


def escalate_overdue(now) -> int:
    """Open alerts past their deadline and not yet escalated: tell the district office once each.

    Only alerts whose district office was found and notified are marked escalated (and audited). An alert
    with no district office (no street, or no office organisation for its district) stays unmarked and is
    tried again at the next run, with a warning in the log: marking it would claim an escalation that never
    happened. There is deliberately no fallback to the city office: it sees every overdue alert in the alert
    list (``?overdue=1``) already. Returns how many alerts were escalated.
    """
    overdue = list(
        Alert.objects.filter(
            state__in=OPEN_STATES, deadline__lt=now, escalated_at__isnull=True
        ).select_related("person__street")
    )
    per_office = defaultdict(list)
    offices = district_offices({alert.person.street for alert in overdue})  # one query for them all
    for alert in overdue:
        office = offices.get(alert.person.street_id)
        if office is None:
            log.warning("overdue alert %s: no district office to escalate to, retried next run", alert.uuid)
            continue
        per_office[office].append(alert)
    escalated = [alert for alerts in per_office.values() for alert in alerts]
    if not escalated:
        return 0
    with transaction.atomic():
        Alert.objects.filter(pk__in=[a.pk for a in escalated]).update(escalated_at=now)
        record_many(
            (
                None,
                AuditAction.UPDATE,
                alert,
                {"after": {"escalated_at": now.isoformat()}, "reason": "超期上报"},
            )
            for alert in escalated
        )
        for office, alerts in per_office.items():
            notify(
                subject=f"预警超期未处置 {len(alerts)} 条",
                body="请督促街镇工作站处置。",
                url=reverse("alerts:alert_list") + "?overdue=1",
                kind="alert_overdue",
                organisations=[office],
                escalation=True,
            )
    return len(escalated)
