"""Rules and alerts through their pages: create with validation and dry run, versions, activate/retire,
YAML export/import, alert transitions with the closing rule, overdue escalation, risk summary, merge."""

import datetime

import time_machine
from django.urls import reverse
from django.utils import timezone

from weibao.alerts import engine
from weibao.alerts.choices import AlertState, RuleStatus
from weibao.alerts.models import Alert, AlertTransition, RiskSummary, Rule
from weibao.alerts.services import escalate_overdue, transition
from weibao.alerts.testing import add_event
from weibao.audit.models import AuditEvent
from weibao.lib.testing import verify_second_factor
from weibao.notifications.deadlines import check_all
from weibao.notifications.models import Notification

RULE_YAML = "event_count:\n  event_type: police_dv_callout\n  within_days: 30\n  min: 2\n"


def login(client, world, name):
    verify_second_factor(client, world.users[name])
    return client


def form_data(**overrides):
    from weibao.alerts.models import AlertLevel

    data = {
        "code": "dv_month",
        "name": "一月内两次家暴警情",
        "description": "测试",
        "level": AlertLevel.objects.get(code="high").pk,
        "recipient": "workstation",
        "deadline_hours": "24",
        "definition": RULE_YAML,
        "reason": "新规则",
    }
    data.update(overrides)
    return data


def dv_twice(person):
    today = timezone.localdate()
    add_event(person, "police_dv_callout", today - datetime.timedelta(days=2))
    add_event(person, "police_dv_callout", today - datetime.timedelta(days=1))


def test_rule_form_rejects_ugly_input_with_field_named_errors(client, world):
    login(client, world, "city")
    url = reverse("alerts:rule_add")
    for definition, expected in [
        ("event_count: [", "不是有效的 YAML 或 JSON"),
        ("{}", "每个条件必须是只有一个键的对象"),
        ("event_count: {event_type: nope, within_days: 3}", "没有代码为“nope”的事件类型"),
        ("age: {min: 12, max: 3}", "条件.age.min：不能大于 max"),
    ]:
        response = client.post(url, form_data(definition=definition))
        assert response.status_code == 400
        assert expected in response.content.decode()
    response = client.post(url, form_data(deadline_hours="0", name=""))
    assert response.status_code == 400
    assert not Rule.objects.filter(code="dv_month").exists()


def test_city_creates_dry_runs_activates_and_versions_a_rule(client, world, only_own_rules):
    dv_twice(world.persons["a1"])
    login(client, world, "city")
    response = client.post(reverse("alerts:rule_add"), form_data(dry_run="1"))
    assert response.status_code == 200
    assert 'id="dry-run-count">1<' in response.content.decode()
    assert not Rule.objects.filter(code="dv_month").exists()  # a dry run writes nothing
    response = client.post(reverse("alerts:rule_add"), form_data())
    rule = Rule.objects.get(code="dv_month")
    assert response.status_code == 302 and rule.status == RuleStatus.DRAFT
    client.post(reverse("alerts:rule_status", args=[rule.uuid, "active"]), {"reason": "试点"})
    rule.refresh_from_db()
    assert rule.status == RuleStatus.ACTIVE
    client.post(reverse("alerts:rule_edit", args=[rule.uuid]), form_data(deadline_hours="12", reason="缩短"))
    rule.refresh_from_db()
    assert (rule.current.number, rule.current.deadline_hours, rule.versions.count()) == (2, 12, 2)
    assert AuditEvent.objects.filter(object_type="alerts.rule", action="update").count() == 2
    page = client.get(reverse("alerts:rule_detail", args=[rule.uuid])).content.decode()
    assert "v1" in page and "v2" in page
    dry = client.post(reverse("alerts:rule_dry_run", args=[rule.uuid]))
    assert 'id="dry-run-count">1<' in dry.content.decode()


def test_yaml_export_then_import_round_trips_and_versions_only_changes(client, world):
    login(client, world, "city")
    exported = client.get(reverse("alerts:rules_export")).content.decode()
    assert "dv_repeated" in exported and "家中多次发生家庭暴力警情" in exported
    from django.core.files.uploadedfile import SimpleUploadedFile

    changed = exported.replace("deadline_hours: 72", "deadline_hours: 70", 1)
    upload = SimpleUploadedFile("r.yaml", changed.encode())
    client.post(reverse("alerts:rules_import"), {"file": upload, "reason": "调整"})
    numbers = dict(Rule.objects.values_list("code", "current__number"))
    assert numbers["dv_repeated"] == 2 and numbers["injuries_repeated"] == 1
    bad = SimpleUploadedFile("r.yaml", b"rules:\n- code: x\n  level: nope\n  definition: {age: {}}\n")
    response = client.post(reverse("alerts:rules_import"), {"file": bad, "reason": "坏文件"}, follow=True)
    assert "rules[0](x)" in response.content.decode()
    assert not Rule.objects.filter(code="x").exists()


def test_alert_moves_through_its_states_and_closing_needs_the_visit(client, world, only_own_rules):
    from weibao.alerts.tests.test_engine import make_rule

    make_rule(definition={"event_count": {"event_type": "police_dv_callout", "within_days": 30, "min": 2}})
    dv_twice(world.persons["a1"])
    engine.screen()
    alert = Alert.objects.get()
    assert Notification.objects.filter(recipient=world.users["worker_a1"], kind="alert").exists()
    login(client, world, "worker_a1")
    url = reverse("alerts:alert_transition", args=[alert.uuid])
    assert client.post(url, {"to_state": "closed", "reason": "x"}).status_code == 400  # not from new
    assert client.post(url, {"to_state": "acknowledged", "reason": ""}).status_code == 400  # no reason
    client.post(url, {"to_state": "acknowledged", "reason": "已签收"})
    client.post(url, {"to_state": "visiting", "reason": "入户"})
    response = client.post(url, {"to_state": "closed", "reason": "结束", "outcome": "no_concern"})
    assert response.status_code == 400 and "关闭前必须记录走访情况" in response.content.decode()
    assert RiskSummary.objects.get(person=world.persons["a1"]).score == 20
    client.post(
        url, {"to_state": "closed", "reason": "结束", "outcome": "no_concern", "visit_result": "家中安全"}
    )
    alert.refresh_from_db()
    assert (alert.state, alert.outcome, alert.visit_result) == (AlertState.CLOSED, "no_concern", "家中安全")
    assert list(AlertTransition.objects.values_list("to_state", flat=True)) == [
        "acknowledged",
        "visiting",
        "closed",
    ]
    assert not RiskSummary.objects.filter(person=world.persons["a1"]).exists()


def test_overdue_alert_escalates_once_to_the_district_office(world, only_own_rules):
    from weibao.alerts.tests.test_engine import make_rule

    make_rule()
    dv_twice(world.persons["a1"])
    with time_machine.travel(datetime.datetime(2026, 11, 29, 9, 0, tzinfo=datetime.UTC), tick=False):
        engine.screen()
    alert = Alert.objects.get()
    with time_machine.travel(datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC), tick=False):
        assert check_all()["alerts"] == 0  # 24 h later: within the 48 h deadline
    with time_machine.travel(datetime.datetime(2026, 12, 2, 9, 0, tzinfo=datetime.UTC), tick=False):
        assert check_all()["alerts"] == 1
        assert escalate_overdue(timezone.now()) == 0  # once
    alert.refresh_from_db()
    assert alert.escalated_at is not None
    note = Notification.objects.get(recipient=world.users["district_a"], kind="alert_overdue")
    assert note.escalation and "超期" in note.subject
    transition(alert, AlertState.ACKNOWLEDGED, actor=world.users["worker_a1"], reason="补签")


def test_risk_summary_on_person_page_and_sortable_list(client, world, only_own_rules):
    from weibao.alerts.tests.test_engine import make_rule

    make_rule()
    dv_twice(world.persons["a2"])
    engine.screen()
    login(client, world, "district_a")
    page = client.get(reverse("registry:person_detail", args=[world.persons["a2"].uuid])).content.decode()
    assert 'id="risk-summary"' in page and "风险分 20" in page and "家暴" in page
    assert "预警：家暴" in page  # the timeline entry
    response = client.get(reverse("registry:person_list") + "?sort=risk")
    assert 'id="sort-risk"' in response.content.decode()
    listed = list(response.context["object_list"])
    assert listed[0] == world.persons["a2"] and len(listed) > 1
    assert '<span class="badge bg-red-lt">20</span>' in response.content.decode()
    client.logout()
    login(client, world, "police_a")  # a relation role sees the person (sent data) but no alerts
    page = client.get(
        reverse("registry:person_detail", args=[world.persons["a2_police"].uuid])
    ).content.decode()
    assert 'id="risk-summary"' not in page


def test_alerts_move_with_a_merge_and_come_back_on_split(world, only_own_rules):
    from weibao.alerts.tests.test_engine import make_rule
    from weibao.registry.services import merge_persons, split_merge

    make_rule()
    absorbed, survivor = world.persons["a1"], world.persons["a2"]
    dv_twice(absorbed)
    engine.screen()
    merge = merge_persons(survivor, absorbed, actor=world.users["city"], reason="同一人")
    assert Alert.objects.get().person == survivor
    split_merge(merge, actor=world.users["city"], reason="误合并")
    assert Alert.objects.get().person == absorbed


def test_alert_list_filters(client, world, only_own_rules):
    from weibao.alerts.models import AlertLevel
    from weibao.alerts.tests.test_engine import make_rule

    make_rule()
    dv_twice(world.persons["a1"])
    dv_twice(world.persons["a2"])
    engine.screen()
    login(client, world, "district_a")
    url = reverse("alerts:alert_list")

    def listed(**params):
        return len(client.get(url, params).context["object_list"])

    high, low = AlertLevel.objects.get(code="high").pk, AlertLevel.objects.get(code="low").pk
    assert (listed(), listed(level=high), listed(level=low)) == (2, 2, 0)
    assert (listed(state="new"), listed(state="closed"), listed(overdue="1")) == (2, 0, 0)
    a1_street = world.persons["a1"].street_id
    assert listed(street=a1_street) == 1
    Alert.objects.update(deadline=timezone.now() - datetime.timedelta(hours=1))
    assert listed(overdue="1") == 2
    assert client.get(url, {"state": "nonsense", "level": "x"}).status_code == 200


def test_screen_now_runs_in_the_background_and_tells_who_asked(client, world, only_own_rules):
    from weibao.alerts.tests.test_engine import make_rule

    make_rule(definition={"event_count": {"event_type": "police_dv_callout", "within_days": 30, "min": 2}})
    dv_twice(world.persons["a1"])
    for persona in ("worker_a1", "district_a", "sysadmin"):
        other = login(type(client)(), world, persona)
        assert other.post(reverse("alerts:screen_now")).status_code == 403
    assert not Alert.objects.exists()
    login(client, world, "city")
    # the test settings run tasks at once (ImmediateBackend); in production the worker picks it up
    response = client.post(reverse("alerts:screen_now"), follow=True)
    assert "已开始全量筛查，完成后将通知您。" in response.content.decode()
    assert Alert.objects.filter(person=world.persons["a1"]).count() == 1
    told = Notification.objects.get(recipient=world.users["city"], kind="alert_screen")
    assert "新预警 1 条" in told.subject and told.url == reverse("alerts:alert_list")
    assert client.get(reverse("alerts:screen_now")).status_code == 405


def test_a_failed_full_screen_tells_who_asked(client, world, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("snapshot failed")

    monkeypatch.setattr(engine, "screen", broken)
    login(client, world, "city")
    client.post(reverse("alerts:screen_now"))  # the test settings run the task at once (it ends FAILED)
    told = Notification.objects.get(recipient=world.users["city"], kind="alert_screen")
    assert "全量筛查失败" in told.subject and "snapshot failed" in told.body


def test_screen_now_twice_queues_one_run(client, world, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # queued, as in production
    login(client, world, "city")
    first = client.post(reverse("alerts:screen_now"), follow=True).content.decode()
    second = client.post(reverse("alerts:screen_now"), follow=True).content.decode()
    assert "已开始全量筛查" in first and "已有全量筛查在排队或进行中" in second
    assert DBTaskResult.objects.filter(task_path="weibao.alerts.tasks.screen_all").count() == 1
    DBTaskResult.objects.update(enqueued_at=timezone.now() - datetime.timedelta(hours=2))  # its worker died
    client.post(reverse("alerts:screen_now"))
    assert DBTaskResult.objects.filter(task_path="weibao.alerts.tasks.screen_all").count() == 2


def test_alert_api_list_is_audited_and_names_the_evidence_the_user_may_see(client, world, only_own_rules):
    from weibao.alerts.tests.test_engine import make_rule
    from weibao.feeds.models import Event

    make_rule(definition={"event_count": {"event_type": "police_dv_callout", "within_days": 30, "min": 2}})
    dv_twice(world.persons["a1"])
    engine.screen()
    alert = Alert.objects.get()
    worker = world.users["worker_a1"]
    login(client, world, "worker_a1")
    body = client.get("/api/alerts/alerts/").json()
    assert [row["uuid"] for row in body["results"]] == [str(alert.uuid)]
    visible = Event.objects.visible_to(worker).filter(pk__in=alert.evidence.values("event_id"))
    assert set(body["results"][0]["evidence"]) == {str(u) for u in visible.values_list("uuid", flat=True)}
    assert len(body["results"][0]["evidence"]) == 2
    search = AuditEvent.objects.get(actor=worker, action="search", object_type="alerts.alert")
    assert search.extra["ids"] == [str(alert.uuid)]
    moved = client.post(
        f"/api/alerts/alerts/{alert.uuid}/transition/",
        {"to_state": "acknowledged", "reason": "签收"},
        content_type="application/json",
    )
    assert moved.status_code == 200 and len(moved.json()["evidence"]) == 2


def test_a_huge_rules_file_is_refused_before_it_is_read(client, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, world, "city")
    huge = SimpleUploadedFile("rules.yaml", b"rules: []\n" + b"#" * (1024 * 1024))
    response = client.post(reverse("alerts:rules_import"), {"file": huge, "reason": "导入"}, follow=True)
    assert "文件不能超过 1 MB" in response.content.decode()
    assert not AuditEvent.objects.filter(action="create", object_type="alerts.rule").exists()


def test_the_alert_page_names_its_rule_and_links_it_for_those_who_read_rules(client, world, only_own_rules):
    from weibao.alerts.tests.test_engine import make_rule

    rule = make_rule(
        definition={"event_count": {"event_type": "police_dv_callout", "within_days": 30, "min": 2}}
    )
    dv_twice(world.persons["a1"])
    engine.screen()
    alert = Alert.objects.get()
    link = reverse("alerts:rule_detail", args=[rule.uuid])
    login(client, world, "worker_a1")
    page = client.get(reverse("alerts:alert_detail", args=[alert.uuid])).content.decode()
    assert alert.rule_version.name in page and link not in page  # a street worker does not read rules
    client.logout()
    login(client, world, "district_a")
    assert link in client.get(reverse("alerts:alert_detail", args=[alert.uuid])).content.decode()


def test_the_alerts_api_list_costs_the_same_queries_for_two_alerts_or_three(client, world, only_own_rules):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from weibao.alerts.tests.test_engine import make_rule

    make_rule(definition={"event_count": {"event_type": "police_dv_callout", "within_days": 30, "min": 2}})
    login(client, world, "city")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            body = client.get("/api/alerts/alerts/").json()
        assert all(len(row["evidence"]) == 2 for row in body["results"])  # each alert's two events
        return len(captured)

    for key in ("a1", "a2"):
        dv_twice(world.persons[key])
    engine.screen()
    two = queries()
    dv_twice(world.persons["b1"])
    engine.screen()
    assert Alert.objects.count() == 3 and queries() == two  # evidence prefetched, not read alert by alert
