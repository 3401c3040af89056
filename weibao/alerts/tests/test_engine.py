"""Conditions validation and compilation, the DuckDB engine, full vs incremental screening, alert upserts."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from weibao.alerts import conditions, engine
from weibao.alerts.choices import AlertState, RuleStatus
from weibao.alerts.models import Alert, AlertEvidence, AlertLevel, RiskSummary, Rule
from weibao.alerts.services import save_rule, set_status
from weibao.alerts.testing import CODES, add_event, population
from weibao.lib.testing import A1, area
from weibao.registry.models import Guardianship, Person

TODAY = datetime.date(2026, 6, 1)
DV = {"event_count": {"event_type": "police_dv_callout", "within_days": 365, "min": 2}}
KNOWN = {"police_dv_callout", "edu_absence"}


def errors_of(definition) -> list[str]:
    with pytest.raises(ValidationError) as info:
        conditions.validate(definition, event_types=KNOWN, categories={"orphan"})
    return info.value.message_dict["definition"]


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (None, "每个条件必须是只有一个键的对象"),
        ("all", "每个条件必须是只有一个键的对象"),
        ([], "每个条件必须是只有一个键的对象"),
        ({"all": [], "any": []}, "每个条件必须是只有一个键的对象"),
        ({"all": []}, "条件.all：必须是非空的条件列表"),
        ({"all": {"x": 1}}, "条件.all：必须是非空的条件列表"),
        ({"drop table": {}}, "未知的条件类型“drop table”"),
        ({"event_count": {"event_type": "nope", "within_days": 3}}, "没有代码为“nope”的事件类型"),
        ({"event_count": {"event_type": "edu_absence"}}, "条件.event_count.within_days：必填"),
        ({"event_count": {"event_type": "edu_absence", "within_days": "30"}}, "必须是 1–3650 的整数"),
        ({"event_count": {"event_type": "edu_absence", "within_days": True}}, "必须是 1–3650 的整数"),
        ({"event_count": {"event_type": "edu_absence", "within_days": 0}}, "必须是 1–3650 的整数"),
        (
            {"event_count": {"event_type": "edu_absence", "within_days": 9, "mni": 2}},
            "event_count.mni：不认识的参数",
        ),
        ({"event_count": {"event_type": [], "within_days": 9}}, "必须是代码或代码列表"),
        ({"event_count": {"event_type": "x'); DROP", "within_days": 9}}, "没有代码为"),
        ({"age": {}}, "至少填写 min 或 max"),
        ({"age": {"min": 10, "max": 5}}, "条件.age.min：不能大于 max"),
        ({"age": {"min": -1}}, "必须是 0–17 的整数"),
        ({"category": {"code": "orphan", "active": "yes"}}, "必须是 true 或 false"),
        ({"category": {"code": "nope"}}, "没有代码为“nope”的人员类别"),
        ({"events_across_departments": {"within_days": 9, "min_departments": 1}}, "必须是 2–20 的整数"),
        ({"all": [{"any": [{"all": [{"any": [{"all": [{"age": {"min": 1}}]}]}]}]}]}, "嵌套不能超过 5 层"),
        ({"any": [DV, {"no_other_guardian": {"x": 1}}]}, "条件.any[1].no_other_guardian.x：不认识的参数"),
    ],
)
def test_validation_names_the_field_and_the_reason(definition, expected):
    errors = errors_of(definition)
    assert any(expected in e for e in errors), errors
    assert all("(" in e for e in errors)  # English follows the Chinese


def test_valid_definitions_pass():
    definition = {"all": [DV, {"age": {"min": 6, "max": 15}}, {"no_event": {"event_type": ["edu_absence"]}}]}
    assert conditions.validate(definition, event_types=KNOWN, categories=set()) is None
    sql = conditions.compile_sql(definition)
    assert sql.startswith("WITH screened AS (") and "c4 AS (SELECT u.person_id" in sql
    assert "code IN ('police_dv_callout')" in sql and "count(*) OVER (PARTITION BY e.person_id) >= 2" in sql
    assert "INTERVAL 6 YEAR" in sql and "INTERVAL 16 YEAR" in sql and "code IN ('edu_absence')" in sql
    assert "FROM c4 r WHERE r.person_id IN (SELECT person_id FROM screened)" in sql


def flag(definition, today=TODAY):
    from weibao.alerts import snapshot

    con = snapshot.take()
    try:
        return engine.evaluate(con, definition, today)
    finally:
        con.close()


def child(born=datetime.date(2015, 1, 1), **kw):
    return Person.objects.create(name="儿童", birth_date=born, street=area(A1), **kw)


@pytest.mark.django_db
def test_event_count_window_and_minimum_with_evidence():
    a, b, adult = child(), child(), child(born=datetime.date(2000, 1, 1))
    e1 = add_event(a, "police_dv_callout", TODAY - datetime.timedelta(days=10))
    e2 = add_event(a, "police_dv_callout", TODAY - datetime.timedelta(days=364))
    add_event(b, "police_dv_callout", TODAY - datetime.timedelta(days=10))
    add_event(b, "police_dv_callout", TODAY - datetime.timedelta(days=365))  # just outside the window
    add_event(adult, "police_dv_callout", TODAY)
    add_event(adult, "police_dv_callout", TODAY)  # adults (18+) are not screened
    add_event(
        b, "police_dv_callout", TODAY + datetime.timedelta(days=1)
    )  # in the future of the screening day
    assert flag(DV) == {a.pk: sorted([e1.pk, e2.pk])}


@pytest.mark.django_db
def test_all_any_age_absence_category_and_guardians():
    young, school_age, enrolled, alone = child(datetime.date(2023, 1, 1)), child(), child(), child()
    add_event(enrolled, "edu_enrolment", TODAY - datetime.timedelta(days=30))
    for minor in (school_age, enrolled):
        for relation in ("father", "mother"):
            Guardianship.objects.create(
                minor=minor, guardian=child(datetime.date(1990, 1, 1)), relation=relation
            )
    no_school = {"all": [{"age": {"min": 6, "max": 15}}, {"no_event": {"event_type": "edu_enrolment"}}]}
    assert set(flag(no_school)) == {school_age.pk, alone.pk}
    assert set(flag({"no_other_guardian": {}})) == {young.pk, alone.pk}
    assert set(flag({"any": [{"age": {"max": 5}}, {"no_other_guardian": {}}]})) == {young.pk, alone.pk}
    evidence = flag(
        {"all": [{"age": {"min": 6}}, {"event_count": {"event_type": "edu_enrolment", "within_days": 90}}]}
    )
    assert list(evidence) == [enrolled.pk] and len(evidence[enrolled.pk]) == 1


@pytest.mark.django_db
def test_across_departments_counts_distinct_domains():
    a, b = child(), child()
    for code in ("police_dv_callout", "edu_absence", "health_self_harm"):
        add_event(a, code, TODAY - datetime.timedelta(days=5))
    for code in ("police_dv_callout", "police_missing_child", "edu_absence"):
        add_event(b, code, TODAY - datetime.timedelta(days=5))
    hits = flag({"events_across_departments": {"within_days": 30, "min_departments": 3}})
    assert list(hits) == [a.pk] and len(hits[a.pk]) == 3


@pytest.fixture(autouse=True)
def without_starter_rules(db):
    Rule.objects.update(status=RuleStatus.DRAFT)  # each test screens with its own rules only


def make_rule(user=None, definition=DV, code="dv"):
    rule = save_rule(
        actor=user,
        code=code,
        data={
            "name": "家暴",
            "definition": definition,
            "level": AlertLevel.objects.get(code="high"),
            "recipient": "workstation",
            "deadline_hours": 48,
        },
    )
    return set_status(rule, RuleStatus.ACTIVE, actor=user)


def alert_state():
    alerts = {(a.rule_id, a.person_id): a for a in Alert.objects.all()}
    evidence = sorted(AlertEvidence.objects.values_list("alert__rule_id", "alert__person_id", "event_id"))
    return set(alerts), evidence


@pytest.mark.django_db
def test_full_and_incremental_screening_give_identical_alerts():
    people = population(seed=7, persons=120, events=900, today=TODAY)
    make_rule(code="dv")
    make_rule(
        definition={
            "all": [
                {"age": {"min": 6, "max": 15}},
                {"no_event": {"event_type": "edu_enrolment", "within_days": 400}},
            ]
        },
        code="school",
    )
    make_rule(
        definition={
            "all": [
                {"event_count": {"event_type": "justice_guardian_imprisoned", "within_days": 730}},
                {"no_other_guardian": {}},
            ]
        },
        code="alone",
    )
    make_rule(
        definition={"events_across_departments": {"within_days": 180, "min_departments": 3}}, code="multi"
    )
    make_rule(
        definition={
            "all": [
                {"event_count": {"event_type": "health_self_harm", "within_days": 90}},
                {"event_count": {"event_type": "edu_absence", "within_days": 90}},
            ]
        },
        code="harm",
    )
    sid = transaction.savepoint_create()
    full = engine.screen(today=TODAY)
    full_state = alert_state()
    transaction.savepoint_rollback(sid)
    assert not Alert.objects.exists()
    ids = [p.pk for p in people]
    for i in range(0, len(ids), 17):  # in several incremental runs, as feed batches would come
        engine.screen(ids[i : i + 17], today=TODAY)
    assert alert_state() == full_state
    assert full.new_alerts == len(full_state[0]) > 20
    assert len(full_state[1]) > 50


@pytest.mark.django_db
def test_firing_again_adds_evidence_never_a_second_alert():
    a = child()
    rule = make_rule()
    add_event(a, "police_dv_callout", TODAY - datetime.timedelta(days=3))
    add_event(a, "police_dv_callout", TODAY - datetime.timedelta(days=2))
    assert engine.screen(today=TODAY).new_alerts == 1
    add_event(a, "police_dv_callout", TODAY - datetime.timedelta(days=1))
    second = engine.screen([a.pk], today=TODAY)
    assert (second.new_alerts, second.evidence_added) == (0, 1)
    alert = Alert.objects.get()
    assert alert.evidence.count() == 3 and alert.rule_version == rule.current
    assert abs(alert.deadline - alert.fired_at - datetime.timedelta(hours=48)) < datetime.timedelta(seconds=1)
    assert RiskSummary.objects.get(person=a).score == 20
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            rule=rule, rule_version=rule.current, person=a, fired_at=alert.fired_at,
            last_fired_at=alert.fired_at, deadline=alert.deadline,
        )  # fmt: skip
    Alert.objects.filter(pk=alert.pk).update(state=AlertState.CLOSED, outcome="no_concern")
    assert engine.screen(today=TODAY).new_alerts == 1  # closed: the next firing opens a new alert
    assert Alert.objects.filter(person=a).count() == 2


@pytest.mark.django_db
def test_retired_and_draft_rules_do_not_screen():
    a = child()
    rule = make_rule()
    add_event(a, "police_dv_callout", TODAY)
    add_event(a, "police_dv_callout", TODAY)
    set_status(rule, RuleStatus.RETIRED, actor=None)
    assert engine.screen(today=TODAY).new_alerts == 0
    with pytest.raises(ValidationError):
        set_status(rule, RuleStatus.RETIRED, actor=None)


@pytest.mark.django_db
def test_rule_versions_are_immutable_and_alerts_keep_theirs():
    a = child()
    rule = make_rule()
    add_event(a, "police_dv_callout", TODAY)
    add_event(a, "police_dv_callout", TODAY)
    engine.screen(today=TODAY)
    first = rule.current
    first.deadline_hours = 1
    with pytest.raises(ValueError, match="immutable"):
        first.save()
    rule = save_rule(
        actor=None, rule=rule, data={"name": "家暴 v2", "definition": DV, "level": first.level, "recipient": "workstation",
                                     "deadline_hours": 12},
    )  # fmt: skip
    assert rule.current.number == 2 and Alert.objects.get().rule_version == first


SCOPE_RULES = [
    DV,
    {"event_count": {"event_type": ["edu_absence", "health_self_harm"], "within_days": 120, "min": 2}},
    {"events_across_departments": {"within_days": 180, "min_departments": 2}},
    {"events_across_departments": {"event_types": ["edu_absence", "police_dv_callout"], "within_days": 900,
                                   "min_departments": 2}},
    {"no_event": {"event_type": "edu_enrolment"}},
    {"no_event": {"event_type": ["edu_enrolment", "edu_absence"], "within_days": 60}},
    {"category": {"code": "left_behind"}},
    {"category": {"code": "left_behind", "active": False}},
    {"all": [{"age": {"min": 6, "max": 15}}, {"no_other_guardian": {}}]},
    {"any": [{"age": {"max": 3}}, {"event_count": {"event_type": "civil_guardian_deceased", "within_days": 3650}}]},
]  # fmt: skip


@pytest.mark.django_db
def test_snapshot_scope_gives_the_same_answers_as_every_row():
    """The snapshot loads only what the rules can read on the day; every clause type answers as over every row
    (events after the day and before any window, adults, ended and future guardianships and categories)."""
    from weibao.alerts import snapshot
    from weibao.registry.models import Category, PersonCategory

    people = population(seed=11, persons=80, events=700, today=TODAY)
    left_behind = Category.objects.get(code="left_behind")
    for i, p in enumerate(people[:30]):
        add_event(p, CODES[i % len(CODES)], TODAY + datetime.timedelta(days=1 + i))  # after the day
        add_event(p, CODES[i % len(CODES)], TODAY - datetime.timedelta(days=1000 + i))  # long ago
        guardian = Person.objects.create(name="监护人", kind="adult")
        since, until = [(None, TODAY - datetime.timedelta(days=1)), (TODAY + datetime.timedelta(days=2), None),
                        (None, TODAY)][i % 3]  # fmt: skip
        Guardianship.objects.create(minor=p, guardian=guardian, relation="mother", since=since, until=until)
        PersonCategory.objects.create(person=p, category=left_behind, since=since, until=until)
    adult = Person.objects.create(name="成人", kind="adult", birth_date=datetime.date(1990, 1, 1))
    add_event(adult, "police_dv_callout", TODAY)
    add_event(adult, "police_dv_callout", TODAY)
    undated = Person.objects.create(name="无出生日期", birth_date=None, street=area(A1))  # a NULL date
    for days in (3, 4):
        add_event(undated, "police_dv_callout", TODAY - datetime.timedelta(days=days))

    def answers(con):
        return [engine.evaluate(con, d, TODAY) for d in SCOPE_RULES]

    everything = snapshot.take()
    try:
        expected = answers(everything)
        all_events = everything.execute("SELECT count(*) FROM events").fetchall()[0][0]
    finally:
        everything.close()
    assert all(expected[:2]) and all(expected[4:]) and len(expected[4]) < len(people)
    assert undated.pk in expected[0] and adult.pk not in expected[0]
    scoped = snapshot.take(today=TODAY, definitions=SCOPE_RULES)
    try:
        assert answers(scoped) == expected
        assert scoped.execute("SELECT count(*) FROM events").fetchall()[0][0] < all_events
        assert not scoped.execute("SELECT * FROM events WHERE occurred_on > DATE '2026-06-01'").fetchall()
    finally:
        scoped.close()
    for definition, hits in zip(SCOPE_RULES, expected, strict=True):  # each rule alone: only what it reads
        con = snapshot.take(today=TODAY, definitions=[definition])
        try:
            assert engine.evaluate(con, definition, TODAY) == hits, definition
        finally:
            con.close()
    con = snapshot.take(today=TODAY, definitions=[DV])
    try:
        types = con.execute(
            "SELECT DISTINCT t.code FROM events e JOIN event_types t ON t.id = e.type_id"
        ).fetchall()
        assert types == [("police_dv_callout",)]
        assert con.execute("SELECT count(*) FROM guardianships").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM person_categories").fetchall() == [(0,)]
        assert con.execute("SELECT DISTINCT kind FROM persons").fetchall() == [("minor",)]
    finally:
        con.close()


@pytest.mark.django_db
def test_last_fired_at_moves_only_when_the_rule_fires_on_something_new():
    a = child()
    make_rule()
    add_event(a, "police_dv_callout", TODAY - datetime.timedelta(days=3))
    add_event(a, "police_dv_callout", TODAY - datetime.timedelta(days=2))
    engine.screen(today=TODAY)
    first = Alert.objects.get()
    assert first.last_fired_at == first.fired_at
    nothing_new = engine.screen(today=TODAY)
    assert (nothing_new.new_alerts, nothing_new.evidence_added) == (0, 0)
    assert Alert.objects.get().last_fired_at == first.fired_at
    add_event(a, "police_dv_callout", TODAY - datetime.timedelta(days=1))
    again = engine.screen([a.pk], today=TODAY)
    assert (again.new_alerts, again.evidence_added) == (0, 1)
    alert = Alert.objects.get()
    assert alert.last_fired_at > alert.fired_at == first.fired_at


@pytest.mark.django_db
def test_full_screening_repairs_risk_summaries_and_rewrites_only_what_changed():
    a, b, c = child(), child(), child()
    make_rule()
    for p in (a, b):
        add_event(p, "police_dv_callout", TODAY - datetime.timedelta(days=3))
        add_event(p, "police_dv_callout", TODAY - datetime.timedelta(days=2))
    engine.screen(today=TODAY)
    assert dict(RiskSummary.objects.values_list("person_id", "score")) == {a.pk: 20, b.pk: 20}
    untouched = RiskSummary.objects.get(person=b).updated
    RiskSummary.objects.filter(person=a).update(score=1)  # drifted
    RiskSummary.objects.create(person=c, score=5, open_alerts=1)  # no open alert
    engine.screen(today=TODAY)
    rows = {r.person_id: r for r in RiskSummary.objects.all()}
    assert {p: (r.score, r.open_alerts) for p, r in rows.items()} == {a.pk: (20, 1), b.pk: (20, 1)}
    assert rows[b.pk].updated == untouched


@pytest.mark.django_db
def test_rules_run_together_answer_as_each_alone():
    """Screening runs every rule in one query (shared clauses worked out once): the same answer per rule."""
    from weibao.alerts import snapshot

    population(seed=5, persons=60, events=500, today=TODAY)
    definitions = [*SCOPE_RULES, SCOPE_RULES[0], {"all": [SCOPE_RULES[-2], SCOPE_RULES[0]]}]
    con = snapshot.take(today=TODAY, definitions=definitions)
    try:
        alone = [engine.evaluate(con, d, TODAY) for d in definitions]
        engine.set_today(con, TODAY)
        together = [{} for _ in definitions]  # ``compile_many`` as ``collect_hits`` runs it
        for rule, person, events in con.execute(conditions.compile_many(definitions)).fetchall():
            together[rule][int(person)] = [int(e) for e in events]
        assert together == alone
        assert sum(map(len, alone)) > 50
    finally:
        con.close()
    sql = conditions.compile_many(definitions)
    assert sql.count("FROM guardianships") == 1  # the clause two rules share: one CTE
