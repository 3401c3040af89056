"""Incremental screening after a feed batch commits; the screen and rules_* commands."""

import datetime
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from weibao.alerts.choices import RuleStatus
from weibao.alerts.models import Alert, Rule
from weibao.feeds.tests.helpers import police_feed, record
from weibao.lib.testing import verify_second_factor


def test_a_committed_feed_batch_screens_its_persons(client, world, django_capture_on_commit_callbacks):
    Rule.objects.exclude(code="dv_repeated").update(status=RuleStatus.DRAFT)
    feed = police_feed(world)
    verify_second_factor(client, world.users["police_a"])
    today = timezone.localdate()
    records = [
        record(1, source_id="J1", occurred_on=str(today - datetime.timedelta(days=9))),
        record(1, source_id="J2", occurred_on=str(today - datetime.timedelta(days=3))),
        record(2, source_id="J3", occurred_on=str(today - datetime.timedelta(days=3))),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/feeds/{feed.code}/batches/",
            {"idempotency_key": "k", "records": records},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    alert = Alert.objects.get()
    assert alert.rule.code == "dv_repeated" and alert.evidence.count() == 2


def test_screen_command(world, capsys):
    Rule.objects.exclude(code="dv_repeated").update(status=RuleStatus.DRAFT)
    call_command("screen", "--full")
    out = json.loads(capsys.readouterr().out)
    assert out["rules"] == 1 and out["new_alerts"] == 0
    call_command("screen", "--persons", str(world.persons["a1"].pk))
    out = json.loads(capsys.readouterr().out)
    assert out["persons"] == 1 and out["rules"] == 1 and out["new_alerts"] == 0
    with pytest.raises(CommandError, match="没有事件"):
        call_command("screen", "--batch", "999999")


def test_rules_export_and_import_commands(world, tmp_path, capsys):
    path = tmp_path / "rules.yaml"
    call_command("rules_export", str(path))
    text = path.read_text(encoding="utf-8")
    assert "pregnancy_under_14" in text
    path.write_text(text.replace("deadline_hours: 4\n", "deadline_hours: 2\n"), encoding="utf-8")
    call_command("rules_import", str(path), "--as", "city", "--reason", "缩短时限")
    rule = Rule.objects.get(code="pregnancy_under_14")
    assert (rule.current.number, rule.current.deadline_hours, rule.current.created_by.username) == (
        2,
        2,
        "city",
    )
    assert Rule.objects.get(code="dv_repeated").current.number == 1
    path.write_text("rules: [{code: x, level: nope}]", encoding="utf-8")
    with pytest.raises(CommandError, match=r"rules\[0\]\(x\)"):
        call_command("rules_import", str(path), "--as", "city")
    with pytest.raises(CommandError, match="没有用户"):
        call_command("rules_import", str(path), "--as", "nobody")
