import datetime
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from weibao.cases import services
from weibao.cases.models import Instrument
from weibao.notifications.deadlines import check_all
from weibao.notifications.models import Notification

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def district_a_notified():
    return Notification.objects.filter(recipient__username="district_a", kind="case_overdue")


def test_overdue_case_escalates_once_to_the_district(clock, world):
    case = world.cases["a1"]  # opened at START, normal priority: first visit within 72 h
    assert check_all()["cases"] == 0
    clock.shift(datetime.timedelta(hours=71))
    assert check_all()["cases"] == 0 and not services.overdue_cases().filter(pk=case.pk).exists()
    clock.shift(datetime.timedelta(hours=2))
    assert services.overdue_cases().filter(pk=case.pk).exists()
    escalated = check_all()["cases"]
    assert escalated >= 1
    assert district_a_notified().filter(subject__contains=case.number).count() == 1
    assert district_a_notified().get(subject__contains=case.number).escalation
    assert check_all()["cases"] == 0  # idempotent
    assert district_a_notified().filter(subject__contains=case.number).count() == 1
    # Moving on starts the next state's clock (assessment: 15 days) and allows a new escalation.
    services.add_note(case, world.users["worker_a1"], kind="visit", text="首次走访")
    services.transition(case, "assessment", world.users["worker_a1"], reason="走访完成")
    case.refresh_from_db()
    assert case.escalated_at is None and case.state_due == START + datetime.timedelta(hours=73, days=15)
    clock.shift(datetime.timedelta(days=15, hours=1))
    check_all()
    assert district_a_notified().filter(subject__contains=case.number).count() == 2


def test_urgent_case_is_overdue_after_24_hours(clock, world):
    from weibao.cases.testing import open_test_case

    case = open_test_case(world.users["worker_a1"], [world.persons["a1"]], priority="urgent")
    clock.shift(datetime.timedelta(hours=25))
    assert services.overdue_cases().filter(pk=case.pk).exists()


def test_overdue_referral_escalates_for_response_then_report(clock, world):
    referral = world.cases["a1_referred"].referrals.get()
    clock.shift(datetime.timedelta(days=5, minutes=1))
    check_all()
    edu_notes = Notification.objects.filter(recipient__username="edu_city", kind="case_overdue")
    assert edu_notes.count() == 1
    check_all()
    assert edu_notes.count() == 1
    services.respond_referral(referral, world.users["edu_city"], accept=True, reason="")
    clock.shift(datetime.timedelta(days=30, minutes=1))
    check_all()
    assert edu_notes.count() == 2
    services.report_referral(referral, world.users["edu_city"], report="已安排学业辅导")
    clock.shift(datetime.timedelta(days=60))
    check_all()
    assert edu_notes.count() == 2


def _answers(instrument, index):
    return {item.code: index for item in instrument.all_items()}


def test_guardianship_assessment_scores_levels_and_history(world):
    instrument = Instrument.objects.get(code="guardianship_capacity", is_active=True)
    assert [d.name for d in instrument.domains.all()] == [
        "基本照料",
        "安全保护",
        "教育支持",
        "健康保障",
        "情感关怀",
        "监护人自身能力",
    ]
    assert instrument.max_total == 54
    case, worker, person = world.cases["a1"], world.users["worker_a1"], world.persons["a1"]
    first = services.record_assessment(
        case, worker, person=person, instrument=instrument, answers=_answers(instrument, 0)
    )
    assert (first.total, first.level_code) == (0, "severe")
    answers = _answers(instrument, 2)
    answers["safety_1"] = 3
    second = services.record_assessment(case, worker, person=person, instrument=instrument, answers=answers)
    assert second.total == 37 and second.level == "监护能力一般"
    assert second.domain_scores["safety"] == 7 and second.domain_scores["basic_care"] == 6
    assert list(case.assessments.values_list("total", flat=True)) == [0, 37]


def test_assessment_rejects_missing_and_invalid_answers(world):
    instrument = Instrument.objects.get(code="risk_screen", is_active=True)
    case, worker = world.cases["a1"], world.users["worker_a1"]
    answers = _answers(instrument, 1)
    answers.pop("injury")
    answers["alone"] = 7
    answers["self_harm"] = "abc"
    with pytest.raises(ValidationError) as e:
        services.record_assessment(
            case, worker, person=world.persons["a1"], instrument=instrument, answers=answers
        )
    assert set(e.value.message_dict) == {"injury", "alone", "self_harm"}
    with pytest.raises(ValidationError) as e:  # a child who is not in the case
        services.record_assessment(
            case, worker, person=world.persons["a2"], instrument=instrument, answers=_answers(instrument, 0)
        )
    assert "person" in e.value.message_dict


def test_import_instrument_command_new_version_and_bad_files(world, tmp_path):
    data = json.loads(open("weibao/cases/data/risk_screen.json", encoding="utf-8").read())
    data["version"] = "2026.2"
    good = tmp_path / "risk.json"
    good.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    call_command("import_instrument", str(good))
    assert Instrument.objects.get(code="risk_screen", is_active=True).version == "2026.2"
    with pytest.raises(CommandError, match="已存在"):
        call_command("import_instrument", str(good))
    data["version"], data["bands"] = "2026.3", data["bands"][:1]
    gaps = tmp_path / "gaps.json"
    gaps.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError, match="覆盖"):
        call_command("import_instrument", str(gaps))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_instrument", str(broken))


def test_time_limits_are_data_the_city_office_edits(world):
    from django.test import Client
    from django.urls import reverse

    from weibao.audit.models import AuditEvent
    from weibao.cases.models import TimeLimit
    from weibao.cases.testing import open_test_case
    from weibao.lib.testing import verify_second_factor

    intake_normal = TimeLimit.objects.get(step="intake", priority="normal")
    city, worker = Client(), Client()
    verify_second_factor(city, world.users["city"])
    verify_second_factor(worker, world.users["worker_a1"])
    assert worker.get(reverse("cases:time_limits")).status_code == 200
    assert worker.post(reverse("cases:time_limits"), {f"hours_{intake_normal.pk}": "1"}).status_code == 403
    city.post(reverse("cases:time_limits"), {f"hours_{intake_normal.pk}": "abc"})
    intake_normal.refresh_from_db()
    assert intake_normal.hours == 72
    city.post(reverse("cases:time_limits"), {f"hours_{intake_normal.pk}": "48"})
    intake_normal.refresh_from_db()
    assert intake_normal.hours == 48
    assert AuditEvent.objects.filter(action="update", object_type="cases.timelimit").exists()
    case = open_test_case(world.users["worker_a1"], [world.persons["a1"]])
    assert case.state_due - case.opened_at == datetime.timedelta(hours=48)
