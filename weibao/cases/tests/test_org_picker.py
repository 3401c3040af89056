"""The case page's organisation fields are search pickers (``cases:organisation_picker``), not ``<select>``s of
every organisation: the search stays within the field's queryset and the case's scope, and the posted key
is still checked by the field."""

import re

import pytest
from django.urls import reverse

from weibao.accounts.models import Organisation
from weibao.cases import forms
from weibao.cases.models import Referral
from weibao.cases.pickers import LIMIT
from weibao.cases.testing import supervision_order
from weibao.lib.testing import org, signed_in

VALUE = re.compile(r'name="(\w+)" value="(\d+)"')


def _search(client, case, field, q):
    return client.get(reverse("cases:organisation_picker", args=[case.uuid]), {"field": field, "q": q})


def _offered(response, field) -> set[int]:
    assert response.status_code == 200
    found = VALUE.findall(response.content.decode())
    assert {name for name, _ in found} <= {field}
    return {int(pk) for _, pk in found}


def _queryset(field):
    return forms.ORGANISATION_FIELDS[field].base_fields[field].queryset


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_every_organisation_field_of_the_case_page_is_a_picker():
    assert set(forms.ORGANISATION_FIELDS) == {"responsible_organisation", "issuer", "to_organisation"}


@pytest.mark.parametrize(
    "field, q, expected",
    [
        ("to_organisation", "教育", {"上海市教育委员会", "上海市黄浦区教育局"}),
        ("to_organisation", "市教委", {"上海市教育委员会"}),  # the short name
        ("to_organisation", "黄浦 教育", {"上海市黄浦区教育局"}),  # every word
        ("issuer", "黄浦", {"上海市公安局黄浦分局", "上海市黄浦区人民法院"}),
        ("responsible_organisation", "民政", {"上海市民政局", "上海市黄浦区民政局"}),
    ],
)
def test_search_offers_matches_from_the_fields_queryset_only(world, field, q, expected):
    client = signed_in(world.users["worker_a1"])
    offered = _offered(_search(client, world.cases["a1"], field, q), field)
    assert offered and offered <= set(_queryset(field).values_list("pk", flat=True))
    found = Organisation.objects.filter(pk__in=offered)
    assert expected <= {o.name for o in found}
    assert all(w in o.name or w in o.short_name for o in found for w in q.split())


@pytest.mark.parametrize(
    "user, case, first", [("worker_a1", "a1", "黄浦区"), ("worker_b1", "b1", "浦东新区")]
)
def test_search_offers_the_cases_own_district_first(world, user, case, first):
    response = _search(signed_in(world.users[user]), world.cases[case], "to_organisation", "教育局")
    ordered = [int(pk) for _, pk in VALUE.findall(response.content.decode())]
    assert Organisation.objects.get(pk=ordered[0]).name == f"上海市{first}教育局"
    short = _search(signed_in(world.users[user]), world.cases[case], "to_organisation", "市教委")
    assert Organisation.objects.get(pk=VALUE.findall(short.content.decode())[0][1]).short_name == "市教委"


def test_search_never_offers_what_the_field_refuses(world):
    client = signed_in(world.users["worker_a1"])
    case = world.cases["a1"]
    workstation = org("workstation", "310101002")
    # a workstation may be responsible for a plan item, never receive a referral or issue an order
    assert workstation.pk in _offered(
        _search(client, case, "responsible_organisation", workstation.name), "responsible_organisation"
    )
    assert _offered(_search(client, case, "to_organisation", workstation.name), "to_organisation") == set()
    assert _offered(_search(client, case, "issuer", "教育"), "issuer") == set()
    html = _search(client, case, "issuer", "教育").content.decode()
    assert "没有找到该单位" in html
    retired = Organisation.objects.get(name="上海市体育局")
    retired.is_active = False
    retired.save()
    assert _offered(_search(client, case, "to_organisation", "体育"), "to_organisation") == set()


def test_search_shows_at_most_the_limit_and_says_there_are_more(world):
    client = signed_in(world.users["worker_a1"])
    response = _search(client, world.cases["a1"], "responsible_organisation", "工作站")
    assert len(_offered(response, "responsible_organisation")) == LIMIT == 20
    assert f"只显示前 {LIMIT} 个" in response.content.decode()
    response = _search(client, world.cases["a1"], "issuer", "法院")
    assert 0 < len(_offered(response, "issuer")) < LIMIT and "只显示前" not in response.content.decode()
    assert _offered(_search(client, world.cases["a1"], "issuer", ""), "issuer") == set()  # nothing typed


@pytest.mark.parametrize(
    "user, case",
    [
        ("worker_b1", "a1"),  # another street
        ("worker_a1", "a1_sensitive"),  # a sensitive child's case, without the sensitive flag
        ("edu_city", "a1_referred"),  # the referral's receiver: sees the case, may not change it
        ("city", "a1"),  # the city office: views cases, does not work them
        ("sysadmin", "a1"),
        ("norole", "a1"),
    ],
)
def test_search_refused_to_whom_may_not_change_the_case(world, user, case):
    response = _search(signed_in(world.users[user]), world.cases[case], "to_organisation", "教育")
    assert response.status_code == 404


def test_search_refused_to_anonymous_visitors_and_unknown_fields(world):
    from django.test import Client

    response = _search(Client(), world.cases["a1"], "to_organisation", "教育")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client = signed_in(world.users["worker_a1"])
    for field in ("workstation", "goal", "", "__class__"):
        assert _search(client, world.cases["a1"], field, "教育").status_code == 400
    url = reverse("cases:organisation_picker", args=[world.cases["a1"].uuid])
    assert client.post(url, {"field": "to_organisation", "q": "教育"}).status_code == 405
    assert (
        _offered(_search(client, world.cases["a1"], "to_organisation", "教" * 5000), "to_organisation")
        == set()
    )


def test_the_case_page_no_longer_lists_every_organisation(world):
    assert Organisation.objects.filter(is_active=True).count() > 300  # the reference data
    case = world.cases["a1"]
    html = signed_in(world.users["worker_a1"]).get(reverse("cases:case_detail", args=[case.uuid])).content
    html = html.decode()
    assert html.count("<option") < 60
    assert "上海市教育委员会" not in html
    for field in forms.ORGANISATION_FIELDS:
        url = reverse("cases:organisation_picker", args=[case.uuid]) + f"?field={field}"
        assert f'hx-get="{url}"' in html and f'id="id_{field}"' in html
    assert "cases/picker.js" in html


def test_the_forms_submit_the_chosen_organisations(world):
    case = world.cases["a1"]
    client = signed_in(world.users["worker_a1"])
    civil = Organisation.objects.get(name="上海市民政局")
    court = org("court", "310101")
    edu = world.orgs["edu"]
    response = client.post(
        reverse("cases:plan_add", args=[case.uuid]),
        {"kind": "goal", "title": "落实监护", "responsible_organisation": civil.pk, "q": "民政"},
        follow=True,
    )
    assert "已加入计划" in _messages(response)
    assert case.plan_items.get(title="落实监护").responsible_organisation == civil
    response = client.post(
        reverse("cases:intervention_add", args=[case.uuid]),
        supervision_order(court),
        follow=True,
    )
    assert "已记录干预" in _messages(response)
    assert case.interventions.get().issuer == court
    response = client.post(
        reverse("cases:referral_send", args=[case.uuid]),
        {"to_organisation": edu.pk, "reason": "学业支持", "q": ""},
        follow=True,
    )
    assert "已转介" in _messages(response)
    assert Referral.objects.get(case=case, reason="学业支持").to_organisation == edu
    # no organisation is fine where the field is optional
    client.post(reverse("cases:plan_add", args=[case.uuid]), {"kind": "goal", "title": "无单位"})
    assert case.plan_items.get(title="无单位").responsible_organisation is None


@pytest.mark.parametrize(
    "forged", ["workstation", "inactive", "missing", "huge", "thousands_of_digits", "text", "negative"]
)
def test_a_forged_organisation_is_the_fields_error(world, forged):
    case = world.cases["a1"]
    inactive = Organisation.objects.get(name="上海市体育局")
    inactive.is_active = False
    inactive.save()
    value = {
        "workstation": org("workstation", "310101002").pk,  # outside the referral field's queryset
        "inactive": inactive.pk,
        "missing": Organisation.objects.order_by("-pk").first().pk + 1000,
        "huge": 2**70,
        "thousands_of_digits": "9" * 5000,  # int() of it raises
        "text": "教育",
        "negative": -1,
    }[forged]
    client = signed_in(world.users["worker_a1"])
    response = client.post(
        reverse("cases:referral_send", args=[case.uuid]),
        {"to_organisation": value, "reason": "伪造"},
        follow=True,
    )
    assert response.status_code == 200
    assert any(m.startswith("接收单位（成员单位或社会组织）：") for m in _messages(response))
    assert not Referral.objects.filter(reason="伪造").exists()
    response = client.post(
        reverse("cases:plan_add", args=[case.uuid]),
        {"kind": "goal", "title": "伪造", "responsible_organisation": value},
        follow=True,
    )
    if forged != "workstation":  # a workstation may be responsible for a plan item
        assert any(m.startswith("责任单位：") for m in _messages(response))
        assert not case.plan_items.filter(title="伪造").exists()
    form = forms.InterventionForm(
        {"kind": "counselling", "started_on": "2026-01-05", "status": "ongoing", "issuer": value}, case=case
    )
    assert not form.is_valid() and list(form.errors) == ["issuer"]


def test_a_bound_form_shows_the_chosen_organisation_and_no_list(world):
    case = world.cases["a1"]
    civil = Organisation.objects.get(name="上海市民政局")
    html = str(
        forms.PlanItemForm({"responsible_organisation": str(civil.pk)}, case=case)["responsible_organisation"]
    )
    assert f'value="{civil.pk}" checked' in html and "上海市民政局" in html and "<option" not in html
    html = str(forms.ReferralForm({"to_organisation": str(2**70)}, case=case)["to_organisation"])
    assert "checked" not in html  # a forged key is not shown as chosen
    html = str(forms.ReferralForm(case=case)["to_organisation"])
    assert "data-picker-clear" not in html  # required: nothing to clear
    assert "data-picker-clear" in str(forms.PlanItemForm(case=case)["responsible_organisation"])
