"""The role matrix: for every persona, what it can and cannot see or change — by page, API and export.

Later issues add their models to ``MATRIX``-style tables here; the expectations are written out in
full so that a change to the rule shows up as a readable diff.
"""

import csv
import io

import pytest
from django.urls import reverse

from weibao.lib.testing import PERSONAS, verify_second_factor

ALL = {"a1", "a1_sensitive", "a2", "b1", "a2_police", "b1_police", "b1_edu"}
NONE: set[str] = set()

# persona → persons it may view, change, export
PERSON_MATRIX = {
    "city": (ALL, ALL, ALL),
    "district_a": ({"a1", "a2", "a2_police"}, {"a1", "a2", "a2_police"}, {"a1", "a2", "a2_police"}),
    "worker_a1": ({"a1"}, {"a1"}, NONE),
    "lead_a1": ({"a1", "a1_sensitive"}, {"a1", "a1_sensitive"}, {"a1", "a1_sensitive"}),
    "worker_b1": ({"b1", "b1_police", "b1_edu"}, {"b1", "b1_police", "b1_edu"}, NONE),
    "police_a": ({"a2_police", "b1_police"}, NONE, NONE),  # what it sent, wherever the child lives
    "prosecutor_a": (NONE, NONE, NONE),
    "court_a": (NONE, NONE, NONE),
    "edu_city": ({"b1_edu"}, NONE, NONE),
    "reporter": (NONE, NONE, NONE),
    "hr": (NONE, NONE, NONE),
    "sysadmin": (NONE, NONE, NONE),
    "secadmin": (NONE, NONE, NONE),
    "auditor": (NONE, NONE, NONE),
    "sysadmin_a": (NONE, NONE, NONE),
    "norole": (NONE, NONE, NONE),
}


def test_matrix_covers_every_persona():
    assert set(PERSON_MATRIX) == set(PERSONAS)


def _client(client, world, persona):
    verify_second_factor(client, world.users[persona])
    return client


@pytest.mark.parametrize("persona", sorted(PERSON_MATRIX))
def test_person_pages_show_exactly_the_persons_in_scope(client, world, persona):
    view, change, _export = PERSON_MATRIX[persona]
    c = _client(client, world, persona)
    listing = c.get(reverse("registry:person_list")).content.decode()
    for key, person in world.persons.items():
        assert (str(person.uuid) in listing) == (key in view), f"{persona} list {key}"
        detail = c.get(reverse("registry:person_detail", args=[person.uuid]))
        assert detail.status_code == (200 if key in view else 404), f"{persona} detail {key}"
        edit = c.get(reverse("registry:person_edit", args=[person.uuid]))
        assert edit.status_code == (200 if key in change else 404), f"{persona} edit {key}"


@pytest.mark.parametrize("persona", sorted(PERSON_MATRIX))
def test_person_api_shows_exactly_the_persons_in_scope(client, world, persona):
    view, change, _export = PERSON_MATRIX[persona]
    c = _client(client, world, persona)
    response = c.get("/api/registry/persons/?limit=500")
    assert response.status_code == 200
    assert {r["uuid"] for r in response.json()["results"]} == {str(world.persons[k].uuid) for k in view}
    for key, person in world.persons.items():
        url = f"/api/registry/persons/{person.uuid}/"
        assert c.get(url).status_code == (200 if key in view else 404), f"{persona} api detail {key}"
        patched = c.patch(url, {"reason": "matrix"}, content_type="application/json")
        assert patched.status_code == (200 if key in change else 404), f"{persona} api patch {key}"


@pytest.mark.parametrize("persona", sorted(PERSON_MATRIX))
def test_person_export_holds_exactly_the_persons_in_scope(client, world, persona):
    _view, _change, export = PERSON_MATRIX[persona]
    c = _client(client, world, persona)
    response = c.get(reverse("registry:person_export"))
    if not export:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    uuids = {row["编号"] for row in csv.DictReader(io.StringIO(text))}
    assert uuids == {str(world.persons[k].uuid) for k in export}


def test_anonymous_gets_login_page_and_api_refusal(client, world):
    person = world.persons["a1"]
    for url in [
        reverse("ui:home"),
        reverse("registry:person_list"),
        reverse("registry:person_detail", args=[person.uuid]),
        reverse("registry:person_export"),
        reverse("accounts:organisation_list"),
        reverse("audit:event_list"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login")), url
    for url in [
        "/api/registry/persons/",
        f"/api/registry/persons/{person.uuid}/",
        "/api/accounts/organisations/",
        "/api/audit/events/",
    ]:
        assert client.get(url).status_code in (401, 403), url


def test_person_role_without_second_factor_is_sent_to_enrol(client, world):
    client.force_login(world.users["worker_a1"])
    response = client.get(reverse("registry:person_list"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:otp_setup"))
    assert client.get("/api/registry/persons/").status_code == 403


def test_reporter_needs_no_second_factor(client, world):
    client.force_login(world.users["reporter"])
    assert client.get(reverse("ui:home")).status_code == 200


# --- organisations ------------------------------------------------------------------------------

ORG_KEYS = ["workstation_a1", "workstation_b1", "city_office"]
# persona → organisations it may view (None = the whole directory), change
ORG_MATRIX = {
    "city": (None, NONE),
    "worker_a1": (None, NONE),
    "police_a": (None, NONE),
    "reporter": ({"own"}, NONE),
    "hr": ({"own"}, NONE),
    "sysadmin": (None, {"workstation_a1", "workstation_b1", "city_office"}),
    "sysadmin_a": (None, {"workstation_a1"}),
    "secadmin": (None, NONE),
    "auditor": (None, NONE),
    "norole": (NONE, NONE),
}


@pytest.mark.parametrize("persona", sorted(ORG_MATRIX))
def test_organisation_pages_and_api_follow_the_rule(client, world, persona):
    from weibao.lib.testing import A1, B1, CITY, org

    orgs = {
        "workstation_a1": org("workstation", A1),
        "workstation_b1": org("workstation", B1),
        "city_office": org("committee_office", CITY),
    }
    user = world.users[persona]
    own = user.role_assignments.first().organisation if user.role_assignments.exists() else None
    if own is not None:
        orgs["own"] = own
    view, change = ORG_MATRIX[persona]
    c = _client(client, world, persona)
    for key, o in orgs.items():
        visible = view is None or key in view
        assert c.get(reverse("accounts:organisation_detail", args=[o.uuid])).status_code == (
            200 if visible else 404
        )
        assert c.get(f"/api/accounts/organisations/{o.uuid}/").status_code == (200 if visible else 404)
        if key == "own":
            continue
        may_change = key in change
        assert c.get(reverse("accounts:organisation_edit", args=[o.uuid])).status_code == (
            200 if may_change else 404
        )
        patched = c.patch(
            f"/api/accounts/organisations/{o.uuid}/",
            {"phone": "021-12345678"},
            content_type="application/json",
        )
        assert patched.status_code == (200 if may_change else 404), f"{persona} patch {key}"
    export = c.get(reverse("accounts:organisation_export"))
    assert export.status_code == (200 if change else 404)


# --- users, roles and the audit trail -----------------------------------------------------------

# persona → sees the user list page, may open another district's user, may see the audit trail
ADMIN_MATRIX = {
    "sysadmin": (True, True, False),
    "sysadmin_a": (True, False, False),
    "secadmin": (True, True, False),
    "auditor": (False, False, True),
    "city": (False, False, False),
    "worker_a1": (False, False, False),
    "reporter": (False, False, False),
    "norole": (False, False, False),
}


@pytest.mark.parametrize("persona", sorted(ADMIN_MATRIX))
def test_admin_pages_follow_the_rule(client, world, persona):
    sees_users, sees_other_district_user, sees_audit = ADMIN_MATRIX[persona]
    c = _client(client, world, persona)
    assert c.get(reverse("accounts:user_list")).status_code == (200 if sees_users else 404)
    other = world.users["worker_b1"]
    status = 200 if sees_other_district_user else 404
    assert c.get(reverse("accounts:user_detail", args=[other.uuid])).status_code == status
    assert c.get(f"/api/accounts/users/{other.uuid}/").status_code == status
    own = world.users[persona]
    assert c.get(f"/api/accounts/users/{own.uuid}/").status_code == 200  # everyone sees their own account
    assert c.get(reverse("audit:event_list")).status_code == (200 if sees_audit else 404)
    assert c.get("/api/audit/events/").status_code == (200 if sees_audit else 403)


def test_district_sysadmin_sees_district_users_only(client, world):
    c = _client(client, world, "sysadmin_a")
    assert c.get(reverse("accounts:user_detail", args=[world.users["worker_a1"].uuid])).status_code == 200
    assert c.get(reverse("accounts:user_detail", args=[world.users["worker_b1"].uuid])).status_code == 404
