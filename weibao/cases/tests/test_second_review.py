"""Second review: the API case list audited, and bad input — messages that name the field, ids beyond 64
bits, times before 1900, instrument files with holes — answered with a field error instead of a 500."""

import datetime
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from weibao.audit.models import AuditEvent
from weibao.cases.models import Instrument, Note, Referral
from weibao.lib.testing import org, signed_in

HUGE = "99999999999999999999"
BEFORE_1900 = "0001-01-01T00:00"


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_api_case_list_is_audited(world):
    worker = world.users["worker_a1"]
    response = signed_in(worker).get("/api/cases/cases/")
    rows = response.json()["results"]
    assert response.status_code == 200 and rows
    event = AuditEvent.objects.get(action="search", object_type="cases.case", actor_id=worker.pk)
    assert sorted(event.extra["ids"]) == sorted(r["uuid"] for r in rows)


def test_service_errors_on_the_case_page_name_the_field(world):
    case = world.cases["a1"]
    client = signed_in(world.users["worker_a1"])
    response = client.post(
        reverse("cases:case_transition", args=[case.uuid]),
        {"to_state": "review", "reason": "跳过评估"},
        follow=True,
    )
    assert any(m.startswith("状态：不允许从") for m in _messages(response)), _messages(response)
    response = client.post(
        reverse("cases:note_add", args=[case.uuid]),
        {"kind": "visit", "text": "走访", "occurred_at": "2999-01-01T00:00"},
        follow=True,
    )
    assert "时间：时间不能晚于现在 (cannot be in the future)" in _messages(response)


def test_time_limit_errors_name_the_limit(world):
    from weibao.cases.models import TimeLimit

    limit = TimeLimit.objects.get(step="intake", priority="normal")
    response = signed_in(world.users["city"]).post(
        reverse("cases:time_limits"), {f"hours_{limit.pk}": "abc"}, follow=True
    )
    assert any(
        m.startswith(f"{limit.label or limit.step} 时限（小时）：时限须为整数小时")
        for m in _messages(response)
    ), _messages(response)


@pytest.mark.parametrize("value", [HUGE, "-" + HUGE])
def test_ids_beyond_64_bits_are_a_field_error(world, value):
    client = signed_in(world.users["worker_a1"])
    data = {
        "persons": [value],
        "workstation": str(org("workstation", "310101002").pk),
        "case_type": "victim",
        "risk_level": "low",
        "priority": "normal",
        "origin": "manual",
        "reason": "x",
    }
    response = client.post(reverse("cases:case_open"), data)
    assert response.status_code == 200
    assert "超出范围 (id out of range)" in str(response.context["form"].errors["persons"])
    case = world.cases["a1"]
    response = client.post(
        reverse("cases:case_update", args=[case.uuid]),
        {"risk_level": "low", "priority": "normal", "workers": [value], "reason": "x"},
        follow=True,
    )
    assert any(m.startswith("责任社工：") and "超出范围" in m for m in _messages(response))


def test_times_before_1900_are_refused_on_the_pages(world):
    case = world.cases["a1"]
    client = signed_in(world.users["worker_a1"])
    response = client.post(
        reverse("cases:note_add", args=[case.uuid]),
        {"kind": "visit", "text": "很久以前", "occurred_at": BEFORE_1900},
        follow=True,
    )
    assert "时间：时间不能早于1900年 (occurred_at before 1900)" in _messages(response)
    assert not Note.objects.filter(text="很久以前").exists()
    response = client.post(
        reverse("cases:referral_send", args=[case.uuid]),
        {"to_organisation": str(world.orgs["edu"].pk), "reason": "远古期限", "due": BEFORE_1900},
        follow=True,
    )
    assert any("答复期限不能早于1900年 (due before 1900)" in m for m in _messages(response))
    assert not Referral.objects.filter(reason="远古期限").exists()


@pytest.mark.parametrize("value", [BEFORE_1900, "0001-01-02T00:00:00+08:00", "1899-12-31T23:59"])
def test_times_before_1900_are_a_400_in_the_api(world, value):
    case = world.cases["a1"]
    api = signed_in(world.users["worker_a1"])
    response = api.post(
        "/api/cases/notes/",
        {"case": str(case.uuid), "kind": "visit", "text": "很久以前", "occurred_at": value},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["occurred_at"] == ["时间不能早于1900年 (occurred_at before 1900)"]
    response = api.post(
        "/api/cases/referrals/",
        {"case": str(case.uuid), "to_organisation": str(world.orgs["edu"].uuid), "reason": "x", "due": value},
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["due"] == ["答复期限不能早于1900年 (due before 1900)"]
    assert not Note.objects.filter(text="很久以前").exists()


def test_a_future_note_is_still_refused_in_the_api(world):
    response = signed_in(world.users["worker_a1"]).post(
        "/api/cases/notes/",
        {"case": str(world.cases["a1"].uuid), "text": "x", "occurred_at": "2999-01-01T00:00"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "occurred_at" in response.json()["errors"]


def _instrument(change):
    data = json.loads(open("weibao/cases/data/risk_screen.json", encoding="utf-8").read())
    data["version"] = "2099.1"
    change(data)
    return data


BAD_INSTRUMENTS = [
    (
        lambda d: d["domains"][0]["items"][2]["options"][1].pop("label"),
        "domains[0].items[2].options[1].label: 缺少 (missing)",
    ),
    (lambda d: d.update(domains=["安全", "照料"]), "domains[0]: 须为对象 (must be an object)"),
    (
        lambda d: d["domains"][0]["items"][0].update(code="x" * 41),
        "domains[0].items[0].code: 超过 40 个字符 (longer than 40 characters)",
    ),
    (lambda d: d.update(code="y" * 41), "code: 超过 40 个字符"),
    (lambda d: d.update(version="v" * 21), "version: 超过 20 个字符"),
    (
        lambda d: d["domains"][0]["items"][0]["options"][0].update(score=True),
        "domains[0].items[0].options[0].score: 须为整数 (must be an integer)",
    ),
    (lambda d: d["domains"][0].update(items="injury"), "domains[0].items: 须为非空列表"),
    (lambda d: d["bands"][0].update(max=10**12), "bands[0].max: 须在 0–2147483647 之间"),
    (lambda d: d["domains"][1].update(code=d["domains"][0]["code"]), "domains[1].code: 维度代码重复"),
    (lambda d: d["bands"][0].pop("label"), "bands[0].label: 缺少 (missing)"),
]


@pytest.mark.parametrize("change, message", BAD_INSTRUMENTS)
def test_import_instrument_names_the_place_of_each_error(world, tmp_path, change, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_instrument(change), ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("import_instrument", str(path))
    assert message in str(caught.value)
    assert not Instrument.objects.filter(version="2099.1").exists()


def test_import_instrument_refuses_a_file_that_is_not_an_object(world, tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CommandError, match="JSON 对象"):
        call_command("import_instrument", str(path))


@pytest.mark.parametrize(
    "form_name, field, label",
    [
        ("PlanItemForm", "due", "完成期限"),
        ("InterventionForm", "started_on", "开始日期"),
        ("InterventionForm", "issued_on", "签发日期（令状）"),
        ("ComplianceForm", "reviewed_on", "检查日期"),
    ],
)
def test_dates_before_1900_are_refused_in_the_case_forms(world, form_name, field, label):
    import inspect

    from weibao.cases import forms

    form_class = getattr(forms, form_name)
    wants_case = "case" in inspect.signature(form_class.__init__).parameters  # choices from the case
    form = form_class(data={field: "0001-01-01"}, **({"case": world.cases["a1"]} if wants_case else {}))
    assert not form.is_valid()
    assert form.errors[field] == [f"{label}不能早于1900年 ({field} before 1900)"]


def test_my_cases_is_offered_only_to_those_who_carry_cases(world):
    mine = 'href="?tab=mine"'
    assert mine in signed_in(world.users["worker_a1"]).get(reverse("cases:case_list")).content.decode()
    page = signed_in(world.users["edu_city"]).get(reverse("cases:case_list")).content.decode()
    assert mine not in page and 'href="?tab=all"' in page


@pytest.mark.parametrize("path", ["/api/cases/notes/", "/api/cases/plan-items/", "/api/cases/interventions/"])
def test_case_row_lists_cost_the_same_queries_whatever_their_length(world, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from weibao.cases import services

    case, worker = world.cases["a1"], world.users["worker_a1"]
    client = signed_in(worker)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path, {"case": str(case.uuid)}).status_code == 200
        return len(captured)

    def add(n):
        for i in range(n):
            services.add_note(case, worker, text=f"走访 {i}")
            services.add_plan_item(case, worker, kind="goal", title=f"目标 {i}", responsible_user=worker)
            services.add_intervention(
                case,
                worker,
                kind="counselling",
                started_on=datetime.date(2026, 1, 1),
                person=case.persons.first(),
            )

    add(1)
    one = queries()
    add(3)
    assert queries() == one  # related rows joined, not read row by row
