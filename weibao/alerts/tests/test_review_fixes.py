"""Regression tests for the review findings: rule size limits, crashes on odd input, YAML status-only changes,
scoped risk column and dry-run samples, escalation only when notified, concurrent inserts, stale transitions,
dry-run errors, the shared DuckDB connection and strict compilation."""

import datetime

import pyarrow as pa
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from weibao.accounts.models import RoleAssignment
from weibao.alerts import conditions, engine, services, snapshot
from weibao.alerts.choices import AlertState, RuleStatus
from weibao.alerts.forms import RuleForm
from weibao.alerts.models import Alert, Rule, RuleVersion
from weibao.alerts.tests.test_engine import DV, KNOWN, make_rule
from weibao.alerts.tests.test_pages import dv_twice, login
from weibao.audit.models import AuditAction, AuditEvent
from weibao.lib.testing import verify_second_factor

# 498 bytes of YAML that expand, through aliases, to 20**4 = 160,000 clauses
BOMB = (
    "a: &a {age: {min: 1}}\n"
    "b: &b {any: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}\n"
    "c: &c {any: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\n"
    "d: &d {any: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}\n"
    "e: &e {any: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]}\n"
)


def _bomb():
    import yaml

    return yaml.safe_load(BOMB)["e"]


# 1. size


def test_alias_expanded_definition_is_refused_by_clause_count():
    with pytest.raises(ValidationError) as info:
        conditions.validate(_bomb(), event_types=KNOWN, categories=set())
    errors = info.value.message_dict["definition"]
    assert errors == ["条件：总共最多 100 个条件 (at most 100 clauses in all)"]
    with pytest.raises(ValidationError):
        conditions.compile_sql(_bomb())  # stored definitions cannot compile past the bound either


def test_definition_text_is_capped_in_form_serializer_and_text_check():
    form = RuleForm(data={"definition": "x" * (conditions.MAX_TEXT + 1)}, editing=True)
    assert not form.is_valid() and "definition" in form.errors
    from weibao.alerts.api.serializers import DefinitionSerializer

    long = {"event_count": {"event_type": ["a" * 50] * 500, "within_days": 9}}
    body = DefinitionSerializer(data={"definition": long})
    assert not body.is_valid() and "条件文本不能超过" in str(body.errors["definition"])
    with pytest.raises(ValidationError) as info:
        conditions.validate(long, event_types={"a" * 50}, categories=set())
    assert "条件文本不能超过" in info.value.message_dict["definition"][0]


@pytest.mark.django_db
def test_import_refuses_an_alias_bomb_with_a_field_error():
    text = BOMB + ("rules:\n- code: bomb\n  name: x\n  level: high\n  deadline_hours: 5\n  definition: *e\n")
    with pytest.raises(ValidationError) as info:
        services.import_yaml(text, actor=None)
    assert info.value.message_dict["rules[0](bomb).definition"][0].startswith("条件：总共最多 100 个条件")


# 2. crashes


def test_unknown_keys_of_mixed_types_are_reported_not_a_type_error():
    with pytest.raises(ValidationError) as info:
        conditions.validate({"age": {"min": 3, 1: "x", "z": 2}}, event_types=KNOWN, categories=set())
    errors = info.value.message_dict["definition"]
    assert any("age.1：不认识的参数" in e for e in errors) and any("age.z：不认识的参数" in e for e in errors)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ("  level: [high]\n", "level", "没有这个预警等级"),
        ("  level: {a: 1}\n", "level", "没有这个预警等级"),
        ("  level: high\n  code2: 1\n", None, None),
    ],
)
def test_import_level_must_be_a_string(item, field, message):
    text = "rules:\n- code: lvl\n  name: x\n  deadline_hours: 5\n  definition: {age: {min: 1}}\n" + item
    if field is None:
        assert services.import_yaml(text, actor=None)[0].current.level.code == "high"
        return
    with pytest.raises(ValidationError) as info:
        services.import_yaml(text, actor=None)
    assert message in info.value.message_dict[f"rules[0](lvl).{field}"][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "name", "field", "message"),
    [
        ("'bad code'", "x", "code", "只能包含字母、数字、连字符和下划线"),
        ("c" * 61, "x", "code", "不能超过 60 个字符"),
        ("ok", "n" * 101, "name", "不能超过 100 个字符"),
    ],
)
def test_import_checks_code_slug_and_lengths(code, name, field, message):
    text = (
        f"rules:\n- code: {code}\n  name: {name}\n  level: high\n  deadline_hours: 5\n"
        "  definition: {age: {min: 1}}\n"
    )
    with pytest.raises(ValidationError) as info:
        services.import_yaml(text, actor=None)
    ((key, errors),) = info.value.message_dict.items()
    assert key.endswith(f".{field}") and message in errors[0]
    assert not Rule.objects.filter(code__in=["ok", "bad code"]).exists()


# 3. YAML status-only changes, missing description


@pytest.mark.django_db
def test_import_applies_status_only_changes_and_ignores_missing_description():
    text = (
        "rules:\n- code: st\n  name: x\n  level: high\n  deadline_hours: 5\n  definition: {age: {min: 1}}\n"
    )
    (rule,) = services.import_yaml(text, actor=None)
    assert rule.status == RuleStatus.DRAFT and rule.current.number == 1
    (rule,) = services.import_yaml(text + "  status: active\n", actor=None)
    rule.refresh_from_db()
    assert rule.status == RuleStatus.ACTIVE and rule.current.number == 1  # status only, no new version
    services.import_yaml(text, actor=None)
    assert Rule.objects.get(code="st").current.number == 1  # description missing = "" = unchanged


# 4. risk column in the alert scope


def test_risk_column_uses_the_alert_scope(client, world, only_own_rules):
    make_rule()
    dv_twice(world.persons["b1_police"])  # district B: outside worker_a1's alert scope
    dv_twice(world.persons["a1"])
    engine.screen()
    user = world.users["worker_a1"]
    RoleAssignment.objects.create(  # plus a police role: sees b1_police (sent by police_a) as a person
        user=user,
        role="police_officer",
        organisation=world.orgs["police_a"],
        area=world.orgs["police_a"].area,
    )
    login(client, world, "worker_a1")
    response = client.get(reverse("registry:person_list") + "?sort=risk")
    rows = {p.pk: p for p in response.context["object_list"]}
    b1, a1 = world.persons["b1_police"], world.persons["a1"]
    assert b1.pk in rows and rows[b1.pk].risk_score is None
    assert rows[a1.pk].risk_score == 20 and list(rows)[0] == a1.pk
    assert response.content.decode().count('<span class="badge bg-red-lt">') == 1


# 5. dry-run sample: scoped before cut, audited


def test_dry_run_sample_scopes_before_slicing_and_is_audited(world, only_own_rules):
    user = world.users["worker_b1"]
    count, sample = services.dry_run_sample(user, {"age": {"min": 5}}, limit=1)
    assert count == 7  # a1… come first by id, but are outside B1
    assert len(sample) == 1 and sample[0].street.code.startswith(world.persons["b1"].street.code[:6])
    event = AuditEvent.objects.filter(action=AuditAction.SEARCH, object_type="registry.person").last()
    assert event.actor_id == user.pk and event.extra["person_ids"] == [sample[0].pk]
    assert event.extra["count"] == 7


# 6. escalation only when an office was notified


def test_escalation_marks_only_alerts_whose_office_was_notified(world, only_own_rules):
    from weibao.registry.models import Person

    make_rule()
    nowhere = Person.objects.create(name="无街镇", birth_date=datetime.date(2015, 6, 1))  # no district office
    dv_twice(world.persons["a1"])
    dv_twice(nowhere)
    engine.screen()
    later = timezone.now() + datetime.timedelta(days=3)
    assert services.escalate_overdue(later) == 1
    a1 = Alert.objects.get(person=world.persons["a1"])
    b1 = Alert.objects.get(person=nowhere)
    assert a1.escalated_at is not None and b1.escalated_at is None  # tried again next run
    audits = AuditEvent.objects.filter(reason="超期上报")
    assert list(audits.values_list("object_id", flat=True)) == [str(a1.uuid)]


# 7. concurrency


def test_upsert_skips_a_conflicting_open_alert_instead_of_aborting(world, only_own_rules):
    rule = make_rule()
    person = world.persons["a1"]
    v1 = rule.current
    v2 = RuleVersion.objects.create(
        rule=rule, number=2, name="家暴", definition=DV, level=v1.level, deadline_hours=48
    )
    # the same (rule, person) twice in screen_new: what a concurrent screening opening it meanwhile looks like
    hits = pa.table(
        {"rule_id": [rule.pk, rule.pk], "version_id": [v1.pk, v2.pk], "person_id": [person.pk] * 2,
         "event_id": pa.array([None, None], type=pa.int64())}
    )  # fmt: skip
    con = snapshot.connect(threads=1)
    try:
        con.register("_hits", hits)
        con.execute("CREATE TABLE hits AS SELECT * FROM _hits")
        new, _evidence = services.upsert_alerts(con, full=False)
    finally:
        con.close()
    assert new == 1 and Alert.objects.filter(rule=rule, person=person).count() == 1


def test_transition_rechecks_the_state_under_the_lock(world, only_own_rules):
    make_rule()
    dv_twice(world.persons["a1"])
    engine.screen()
    stale = Alert.objects.get()
    worker = world.users["worker_a1"]
    services.transition(Alert.objects.get(), AlertState.ACKNOWLEDGED, actor=worker, reason="签收")
    with pytest.raises(ValidationError) as info:
        services.transition(stale, AlertState.ACKNOWLEDGED, actor=worker, reason="再签收")
    assert "to_state" in info.value.message_dict
    assert Alert.objects.get().transitions.count() == 1


# 8. dry run of a stored definition that no longer validates


def test_rule_dry_run_shows_a_validation_error_as_400(world):
    client = Client()
    verify_second_factor(client, world.users["city"])
    rule = Rule.objects.get(code="dv_repeated")
    RuleVersion.objects.filter(pk=rule.current_id).update(
        definition={"event_count": {"event_type": "gone", "within_days": 9}}
    )
    response = client.post(reverse("alerts:rule_dry_run", args=[rule.uuid]))
    assert response.status_code == 400 and "没有代码为“gone”的事件类型" in response.content.decode()


# 9. shared DuckDB connection, open states from OPEN_STATES


def test_snapshot_connection_spills_to_the_linkage_temp_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("WEIBAO_LINKAGE_TMP", str(tmp_path))
    con = snapshot.connect(threads=1)
    try:
        assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(tmp_path)
        assert con.execute("SELECT current_setting('autoload_known_extensions')").fetchone()[0] is False
    finally:
        con.close()
    assert services.OPEN_SQL == "('new', 'acknowledged', 'visiting')"


# 10. strict compilation


@pytest.mark.parametrize(
    "definition",
    [
        {"event_count": {"event_type": "x'); DROP TABLE persons; --", "within_days": 9}},
        {"category": {"code": ["ok", "a b"]}},
        {"event_count": {"event_type": "ok", "within_days": "9; DROP"}},
        {"age": {"min": "1 YEAR)"}},
        {"add": {}},
    ],
)
def test_compile_refuses_anything_unvalidated(definition):
    with pytest.raises(ValidationError):
        conditions.compile_sql(definition)


def test_validation_refuses_codes_outside_the_pattern():
    with pytest.raises(ValidationError) as info:
        conditions.validate(
            {"event_count": {"event_type": "x'y", "within_days": 9}}, event_types={"x'y"}, categories=set()
        )
    assert "含有不允许的字符" in info.value.message_dict["definition"][0]


@pytest.mark.django_db
def test_an_alias_bomb_inside_a_parameter_is_refused_without_expanding_it():
    text = BOMB + (
        "rules:\n- code: deep\n  name: x\n  level: high\n  deadline_hours: 5\n"
        "  definition: {age: {min: *e}}\n"
    )
    with pytest.raises(ValidationError) as info:
        services.import_yaml(text, actor=None)
    assert any("条件文本不能超过" in m for m in info.value.message_dict["rules[0](deep).definition"])


@pytest.mark.django_db
def test_import_refuses_a_name_that_is_not_text():
    text = "rules:\n- code: lst\n  name: [a]\n  level: high\n  deadline_hours: 5\n  definition: {age: {min: 1}}\n"
    with pytest.raises(ValidationError) as info:
        services.import_yaml(text, actor=None)
    assert "须为文字" in info.value.message_dict["rules[0].name"][0]


# 10. reasons are never cut, a code taken at the same time is a field error


def test_rule_status_refuses_a_reason_over_500_characters(world):
    client = Client()
    verify_second_factor(client, world.users["city"])
    rule = Rule.objects.get(code="dv_repeated")
    Rule.objects.filter(pk=rule.pk).update(status=RuleStatus.DRAFT)
    url = reverse("alerts:rule_status", args=[rule.uuid, "active"])
    response = client.post(url, {"reason": "长" * 501}, follow=True)
    assert "事由：不能超过 500 个字符" in response.content.decode()  # the label, then the reason
    rule.refresh_from_db()
    assert rule.status == RuleStatus.DRAFT
    client.post(url, {"reason": "试" * 500})
    rule.refresh_from_db()
    assert rule.status == RuleStatus.ACTIVE
    event = AuditEvent.objects.filter(object_type="alerts.rule", action="update").latest("seq")
    assert event.reason == "试" * 500


@pytest.mark.django_db
def test_a_rule_code_taken_at_the_same_time_is_a_field_error():
    """Two creations both pass the "code exists" check; the second insert meets the unique constraint."""
    from unittest import mock

    real_create = Rule.objects.create

    def create_after_a_concurrent_one(**kwargs):
        Rule(**kwargs).save()  # the other request's rule, committed between check and insert
        return real_create(**kwargs)

    with mock.patch.object(Rule.objects, "create", side_effect=create_after_a_concurrent_one):
        with pytest.raises(ValidationError) as info:
            make_rule(code="twice")
    assert info.value.message_dict["code"] == ["代码必填且不能重复 (code required and unique)"]
    assert not Rule.objects.filter(code="twice").exists()  # rolled back, and the transaction still usable
