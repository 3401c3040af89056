"""Ugly input that used to be a 500 or a silent empty answer: an unknown ``?state=`` of the alert API (a 400
naming ``state``), and deeply nested YAML/JSON (the parser's RecursionError: a field error)."""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from weibao.alerts import services
from weibao.alerts.choices import AlertState
from weibao.alerts.forms import RuleForm, parse_definition
from weibao.alerts.models import Rule
from weibao.alerts.tests.test_pages import form_data, login

DEEP = "[" * 1000 + "]" * 1000
NESTED = "嵌套过深 (nested too deeply)"


# --- ?state= of the alert list --------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["garbage", "NEW", "new,closed", "'"])
def test_an_unknown_state_is_a_400_naming_state(client, world, alert, state):
    login(client, world, "worker_a1")
    response = client.get("/api/alerts/alerts/", {"state": state})
    assert response.status_code == 400
    message = response.json()["errors"]["state"][0]
    assert "(state must be one of these)" in message and all(s in message for s in AlertState.values)


def test_a_known_state_filters_and_an_empty_one_does_not(client, world, alert):
    login(client, world, "worker_a1")
    listed = lambda **q: [a["uuid"] for a in client.get("/api/alerts/alerts/", q).json()["results"]]  # noqa: E731
    assert listed(state=alert.state) == [str(alert.uuid)]
    assert listed(state=AlertState.CLOSED) == []
    assert listed(state="") == listed() == [str(alert.uuid)]
    # the list filter only: an alert is retrieved by its uuid whatever it says
    detail = client.get(f"/api/alerts/alerts/{alert.uuid}/", {"state": "garbage"})
    assert detail.status_code == 200


# --- deeply nested definitions ---------------------------------------------------------------------------


def test_a_deeply_nested_definition_is_a_field_error():
    with pytest.raises(forms.ValidationError) as info:
        parse_definition(DEEP)
    assert NESTED in str(info.value.messages)
    form = RuleForm(data={"definition": DEEP}, editing=True)
    assert not form.is_valid() and form.errors["definition"] == [NESTED]


def test_the_rule_page_shows_the_nesting_error(client, world):
    login(client, world, "city")
    response = client.post(reverse("alerts:rule_add"), form_data(definition=DEEP))
    assert response.status_code == 400 and NESTED in response.content.decode()
    assert not Rule.objects.filter(code="dv_month").exists()


@pytest.mark.django_db
def test_a_deeply_nested_rules_file_is_a_file_error():
    for text in (DEEP, "rules:\n- code: deep\n  definition: " + DEEP + "\n"):
        with pytest.raises(ValidationError) as info:
            services.import_yaml(text, actor=None)
        assert info.value.message_dict == {"file": [NESTED]}


# aliases of aliases: a few hundred characters naming 10**12 lists (walking the expanded tree would never end:
# seven levels already took minutes); an alias of its own ancestor (a loop)
ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 13)
)
SELF_ALIAS = "&a [*a]"


def test_aliases_are_measured_once_not_expanded_and_a_loop_is_too_deep():
    value = parse_definition(ALIAS_BOMB)  # read as the shared lists it names
    assert len(value["a12"]) == 10 and value["a12"][0] is value["a11"]
    with pytest.raises(forms.ValidationError) as info:
        parse_definition(SELF_ALIAS)
    assert info.value.messages == [NESTED]


@pytest.mark.django_db
def test_an_alias_loop_rules_file_and_an_impossible_date_are_file_errors():
    with pytest.raises(ValidationError) as info:
        services.import_yaml("rules: &r [*r]\n", actor=None)
    assert info.value.message_dict == {"file": [NESTED]}
    with pytest.raises(ValidationError) as info:  # the loader's own ValueError: not "nested too deeply"
        services.import_yaml("rules:\n- code: x\n  since: 2020-02-30\n", actor=None)
    assert info.value.message_dict["file"][0].startswith("不是有效的 YAML (not valid YAML)")
    with pytest.raises(forms.ValidationError) as info:
        parse_definition("age: 2020-02-30")
    assert "不是有效的 YAML 或 JSON" in info.value.messages[0]


def test_the_import_page_shows_the_nesting_error(client, world):
    login(client, world, "city")
    upload = SimpleUploadedFile("rules.yaml", DEEP.encode())
    response = client.post(reverse("alerts:rules_import"), {"file": upload, "reason": "导入"}, follow=True)
    assert response.status_code == 200 and NESTED in response.content.decode()


def test_a_deeply_nested_api_definition_is_a_400(client, world):
    login(client, world, "city")
    rule = Rule.objects.get(code="dv_repeated")
    deep = {"definition": {"all": [{"any": []}]}}
    node = deep["definition"]["all"][0]["any"]
    for _ in range(300):  # deep for the conditions, well within what the JSON parser takes
        node.append({"any": []})
        node = node[0]["any"]
    response = client.post(f"/api/alerts/rules/{rule.uuid}/dry-run/", deep, content_type="application/json")
    assert response.status_code == 400 and "definition" in response.json()["errors"]


def test_nesting_is_bounded_even_when_a_library_has_raised_the_recursion_limit():
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)  # duckdb, sqlglot and others do; then "[" * 1000 parses
    try:
        with pytest.raises(forms.ValidationError) as info:
            parse_definition(DEEP)
    finally:
        sys.setrecursionlimit(limit)
    assert NESTED in str(info.value.messages)
