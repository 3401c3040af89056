"""Every write of the alerts app: rules and their versions, screening results, alert transitions.

Each write records an audit event in the same transaction.
"""

import datetime
from collections import defaultdict

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from weibao.accounts.models import Area
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.notifications.services import district_office, notify, workstation

from . import conditions
from .choices import OPEN_STATES, TRANSITIONS, AlertState, Outcome, Recipient, RuleStatus
from .models import Alert, AlertEvidence, AlertLevel, AlertTransition, RiskSummary, Rule, RuleVersion

VERSION_FIELDS = ("name", "description", "definition", "level", "recipient", "deadline_hours")


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


def save_rule(*, actor, data: dict, rule: Rule | None = None, code: str = "", reason: str = "") -> Rule:
    """Create a rule (draft) or give an existing one a new version. ``data`` holds the VERSION_FIELDS."""
    data = {k: data.get(k) for k in VERSION_FIELDS}
    data["name"] = str(data.get("name") or "").strip()
    data["description"] = str(data.get("description") or "")
    _check_version(data)
    with transaction.atomic():
        if rule is None:
            if not code or Rule.objects.filter(code=code).exists():
                raise ValidationError({"code": ["代码必填且不能重复 (code required and unique)"]})
            rule = Rule.objects.create(code=code)
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
    con = snapshot.take()
    try:
        return sorted(engine.evaluate(con, definition, today or timezone.localdate()))
    finally:
        con.close()


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
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError({"file": [f"不是有效的 YAML (not valid YAML): {exc}"]}) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise ValidationError({"file": ["顶层必须是 rules: [...] (top level must be rules: [...])"]})
    levels = {lvl.code: lvl for lvl in AlertLevel.objects.all()}
    saved = []
    with transaction.atomic():
        for i, item in enumerate(doc["rules"]):
            if not isinstance(item, dict) or not isinstance(item.get("code"), str):
                raise ValidationError({f"rules[{i}].code": ["必填 (required)"]})
            data = {k: item.get(k) for k in VERSION_FIELDS}
            data["level"] = levels.get(item.get("level"))
            data["recipient"] = item.get("recipient") or Recipient.WORKSTATION
            rule = Rule.objects.filter(code=item["code"]).select_related("current__level").first()
            try:
                if rule is not None and _version_dict(rule.current) | {"number": 0} == {
                    **{k: data[k] for k in VERSION_FIELDS},
                    "level": getattr(data["level"], "code", None),
                    "number": 0,
                }:
                    saved.append(rule)
                    continue
                rule = save_rule(actor=actor, data=data, rule=rule, code=item["code"], reason=reason)
                status = item.get("status")
                if status in (RuleStatus.ACTIVE, RuleStatus.RETIRED) and rule.status != status:
                    set_status(rule, status, actor=actor, reason=reason)
            except ValidationError as exc:
                raise ValidationError(
                    {f"rules[{i}]({item['code']}).{k}": v for k, v in exc.message_dict.items()}
                ) from exc
            saved.append(rule)
    return saved


# --- screening results ---------------------------------------------------------------------------------


def _recipient(version: RuleVersion, street: Area | None):
    if street is None:
        return None
    if version.recipient == Recipient.DISTRICT_OFFICE:
        return district_office(street)
    return workstation(street)


def upsert_alerts(hits, streets: dict[int, int | None], *, actor=None, full: bool) -> tuple[int, int]:
    """Open an alert for each newly flagged (rule, person); add new evidence to open ones.

    Returns (new alerts, evidence rows added). Recipients are told once per organisation and run.
    """
    now = timezone.now()
    new_total = evidence_total = 0
    per_org: dict[int, int] = defaultdict(int)
    orgs = {}
    areas = {a.pk: a for a in Area.objects.filter(pk__in={s for s in streets.values() if s})}
    with transaction.atomic():
        evidence_before = AlertEvidence.objects.count()
        for h in hits:
            if not h.persons:
                continue
            version = h.version
            existing = Alert.objects.open().filter(rule_id=version.rule_id)
            if not full:
                existing = existing.filter(person_id__in=list(h.persons))
            open_ids = dict(existing.values_list("person_id", "pk"))
            deadline = now + datetime.timedelta(hours=version.deadline_hours)
            fresh = [
                Alert(
                    rule_id=version.rule_id,
                    rule_version=version,
                    person_id=person,
                    fired_at=now,
                    last_fired_at=now,
                    deadline=deadline,
                )
                for person in h.persons
                if person not in open_ids
            ]
            created = Alert.objects.bulk_create(fresh, batch_size=2000)
            again = [pk for person, pk in open_ids.items() if person in h.persons]
            for i in range(0, len(again), 5000):
                Alert.objects.filter(pk__in=again[i : i + 5000]).update(last_fired_at=now)
            open_ids.update({a.person_id: a.pk for a in created})
            new_total += len(created)
            AlertEvidence.objects.bulk_create(
                (
                    AlertEvidence(alert_id=open_ids[person], event_id=event, added_at=now)
                    for person, events in h.persons.items()
                    for event in events
                ),
                batch_size=5000,
                ignore_conflicts=True,
            )
            for alert in created:
                street = areas.get(streets.get(alert.person_id))
                key = (version.recipient, street.pk if street else None)
                if key not in orgs:
                    orgs[key] = _recipient(version, street)
                if orgs[key] is not None:
                    per_org[orgs[key].pk] += 1
        evidence_total = AlertEvidence.objects.count() - evidence_before
        refresh_risk(None if full else list({p for h in hits for p in h.persons}))
        record(
            actor,
            AuditAction.CREATE,
            object_type="alerts.screening",
            object_repr="全量筛查" if full else "增量筛查",
            extra={"new_alerts": new_total, "evidence_added": evidence_total, "rules": len(hits)},
        )
        by_pk = {o.pk: o for o in orgs.values() if o is not None}
        for org_pk, count in per_org.items():
            notify(
                subject=f"新预警 {count} 条，请及时签收处置",
                body="预警详情请登录系统查看。",
                url=reverse("alerts:alert_list") + "?state=new",
                kind="alert",
                organisations=[by_pk[org_pk]],
            )
    return new_total, evidence_total


def refresh_risk(person_ids=None) -> None:
    """Recompute risk summaries from open alerts (everyone, or the given persons)."""
    alerts = Alert.objects.open()
    summaries = RiskSummary.objects.all()
    if person_ids is not None:
        alerts = alerts.filter(person_id__in=person_ids)
        summaries = summaries.filter(person_id__in=person_ids)
    rows = alerts.values("person_id").annotate(score=Sum("rule_version__level__weight"), n=Count("pk"))
    with transaction.atomic():
        summaries.delete()
        RiskSummary.objects.bulk_create(
            (RiskSummary(person_id=r["person_id"], score=r["score"] or 0, open_alerts=r["n"]) for r in rows),
            batch_size=5000,
        )


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
        if not (visit_result or alert.visit_result):
            errors["visit_result"] = ["关闭前必须记录走访情况 (record the visit result before closing)"]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
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
    """Open alerts past their deadline and not yet escalated: tell the district office once each."""
    overdue = list(
        Alert.objects.filter(
            state__in=OPEN_STATES, deadline__lt=now, escalated_at__isnull=True
        ).select_related("person__street")
    )
    per_office = defaultdict(list)
    for alert in overdue:
        office = district_office(alert.person.street) if alert.person.street_id else None
        per_office[office].append(alert)
    with transaction.atomic():
        for office, alerts in per_office.items():
            Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(escalated_at=now)
            for alert in alerts:
                record(
                    None,
                    AuditAction.UPDATE,
                    alert,
                    after={"escalated_at": now.isoformat()},
                    reason="超期上报",
                )
            if office is not None:
                notify(
                    subject=f"预警超期未处置 {len(alerts)} 条",
                    body="请督促街镇工作站处置。",
                    url=reverse("alerts:alert_list") + "?overdue=1",
                    kind="alert_overdue",
                    organisations=[office],
                    escalation=True,
                )
    return len(overdue)
