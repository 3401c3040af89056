"""The 统计 nav entry and its index: offered to exactly the users who may open a statistics page, and the
index lists only the pages the user may open — checked against the pages' own answers for every persona."""

import pytest
from django.urls import reverse

from weibao.lib.testing import PERSONAS, signed_in
from weibao.ui.statistics import PAGES

pytestmark = pytest.mark.django_db

CASELOAD, FIGURES = "cases:caseload", "reports:figures"
BOTH, CASES_ONLY, NONE = {CASELOAD, FIGURES}, {CASELOAD}, set()
EXPECTED = {
    "city": BOTH,
    "district_a": BOTH,
    "worker_a1": CASES_ONLY,
    "lead_a1": CASES_ONLY,
    "worker_b1": CASES_ONLY,
    "police_a": CASES_ONLY,
    "prosecutor_a": CASES_ONLY,
    "court_a": CASES_ONLY,
    "edu_city": CASES_ONLY,
    "reporter": NONE,
    "hr": NONE,
    "sysadmin": NONE,
    "secadmin": NONE,
    "auditor": NONE,
    "sysadmin_a": NONE,
    "norole": NONE,
}
INDEX = reverse("ui:statistics")


def _nav_urls(client):
    response = client.get(reverse("ui:home"))
    assert response.status_code == 200
    return [url for _label, url, _icon in response.context["nav"]]


def _listed(client):
    """URL names of the pages the index offers, or None when the index refuses."""
    response = client.get(INDEX)
    if response.status_code == 403:
        return None
    assert response.status_code == 200
    body = response.content.decode()
    return {page.url_name for page in PAGES if f'href="{page.url}"' in body}


def test_every_persona_has_an_expectation():
    assert set(EXPECTED) == set(PERSONAS)


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_index_and_nav_offer_exactly_the_pages_that_open(world, persona):
    client = signed_in(world.users[persona])
    opens = {page.url_name for page in PAGES if client.get(page.url).status_code == 200}
    assert opens == EXPECTED[persona], "the pages' own rule changed: update EXPECTED"
    listed = _listed(client)
    if opens:
        assert listed == opens
        assert INDEX in _nav_urls(client)
    else:
        assert listed is None  # 403: nothing to list
        assert INDEX not in _nav_urls(client)


def test_nav_entry_shown_to_the_city_office_not_to_a_reporter(world):
    city = signed_in(world.users["city"]).get(reverse("ui:home")).content.decode()
    assert f'href="{INDEX}"' in city and ">统计<" in city
    reporter = signed_in(world.users["reporter"]).get(reverse("ui:home")).content.decode()
    assert f'href="{INDEX}"' not in reporter and ">统计<" not in reporter


def test_index_lists_only_permitted_pages_with_a_line_each(world):
    body = signed_in(world.users["worker_a1"]).get(INDEX).content.decode()
    assert f'href="{reverse(CASELOAD)}"' in body and "个案统计" in body
    assert f'href="{reverse(FIGURES)}"' not in body and "强制报告统计" not in body
    body = signed_in(world.users["district_a"]).get(INDEX).content.decode()
    assert body.count('data-testid="statistics-page"') == 2
    for page in PAGES:
        assert str(page.about) in body


def test_index_and_entry_in_english(world):
    client = signed_in(world.users["city"])
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get(INDEX).content.decode()
    assert ">Statistics<" in body and "Caseloads" in body and "Mandatory reporting figures" in body


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
