"""Text no database can store is refused at the door (``lib.middleware``, ``lib.api_defaults.StrictJSONParser``);
API pages are bounded; the audit trail's client address is always an address."""

import json

import pytest
from django.test import RequestFactory, override_settings

from weibao.audit.middleware import client_ip
from weibao.lib.testing import signed_in

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path, params",
    [
        ("/registry/persons/", {"q": "张\x00"}),  # a page's search box
        ("/registry/persons/", {"x\x00": "1"}),  # an unknown parameter, its name
        ("/api/alerts/alerts/", {"x": "%00\x00"}),  # an API list (the audit records its query)
    ],
)
def test_a_nul_in_a_query_string_is_a_400_naming_the_parameter(world, path, params):
    response = signed_in(world.users["city"]).get(path, params)
    assert response.status_code == 400
    (name,) = params
    shown = name.replace("\x00", "\\x00")
    text = response.content.decode()
    assert shown in (response.json()["errors"] if path.startswith("/api/") else text)
    assert "无法保存的字符" in text


def test_a_nul_in_a_posted_form_field_is_a_400_naming_it(world):
    response = signed_in(world.users["worker_a1"]).post("/reports/new/", {"description": "有\x00人"})
    assert response.status_code == 400 and "description" in response.content.decode()


@pytest.mark.parametrize(
    "body, where",
    [
        ('{"ids": [1], "note": "a\\u0000"}', "note"),
        ('{"a": [{"b": "\\ud800x"}]}', "a[0].b"),
        ('"\\u0000"', "body"),
    ],
)
def test_a_json_body_with_a_nul_or_lone_surrogate_is_a_400_naming_where(world, body, where):
    response = signed_in(world.users["city"]).post(
        "/api/notifications/notifications/mark-read/", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [where]


def test_escapes_that_are_storable_pass(world):
    body = json.dumps({"ids": [], "note": "\\u0000 is only text here, 😀 a pair"})
    response = signed_in(world.users["city"]).post(
        "/api/notifications/notifications/mark-read/", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content


def test_api_pages_are_bounded(world, monkeypatch):
    from weibao.lib.api_defaults import Pagination

    assert Pagination.max_limit == 1000
    monkeypatch.setattr(Pagination, "max_limit", 2)  # the test world holds a handful of persons, not 1,000
    body = signed_in(world.users["city"]).get("/api/registry/persons/", {"limit": 100_000}).json()
    assert body["count"] > 2 and len(body["results"]) == 2 and "limit=2" in body["next"]


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
@pytest.mark.parametrize(
    "forwarded, expected",
    [
        ("203.0.113.7, 10.0.0.1", "203.0.113.7"),
        ("unknown", "10.1.2.3"),
        ("1.2.3.4:5678", "10.1.2.3"),
        ("", "10.1.2.3"),
    ],
)
def test_the_client_address_is_an_address_whatever_the_proxy_header_says(forwarded, expected):
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.1.2.3")
    assert client_ip(request) == expected


def test_a_json_body_nested_too_deeply_is_a_400(world):
    body = '{"ids": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = signed_in(world.users["city"]).post(
        "/api/notifications/notifications/mark-read/", body, content_type="application/json"
    )
    assert response.status_code == 400 and "嵌套过深" in response.json()["detail"]
