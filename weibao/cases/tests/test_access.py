"""The access matrix for cases: every persona × page, API and PDF export; each denied attempt audited."""

import pytest
from django.urls import reverse

from weibao.audit.models import AuditEvent
from weibao.cases import services
from weibao.cases.models import Case, Note
from weibao.lib.testing import PERSONAS, signed_in

ALL = {"a1", "a1_sensitive", "b1", "a1_referred"}
# persona → (cases seen, cases changeable, cases exportable)
EXPECTED = {
    "city": (ALL, set(), ALL),
    "district_a": ({"a1", "a1_referred"}, {"a1", "a1_referred"}, {"a1", "a1_referred"}),
    "worker_a1": ({"a1", "a1_referred"}, {"a1", "a1_referred"}, set()),
    "lead_a1": (
        {"a1", "a1_sensitive", "a1_referred"},
        {"a1", "a1_sensitive", "a1_referred"},
        {"a1", "a1_sensitive", "a1_referred"},
    ),
    "worker_b1": ({"b1"}, {"b1"}, set()),
    "police_a": (set(), set(), set()),
    "prosecutor_a": (set(), set(), set()),
    "court_a": (set(), set(), set()),
    "edu_city": ({"a1_referred"}, set(), set()),  # the member unit the case was referred to
    "reporter": (set(), set(), set()),
    "hr": (set(), set(), set()),
    "sysadmin": (set(), set(), set()),
    "secadmin": (set(), set(), set()),
    "auditor": (set(), set(), set()),
    "sysadmin_a": (set(), set(), set()),
    "norole": (set(), set(), set()),
}


def test_every_persona_has_an_expectation():
    assert set(EXPECTED) == set(PERSONAS)


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_querysets(world, persona):
    user = world.users[persona]
    seen, changeable, exportable = EXPECTED[persona]
    names = {c.pk: k for k, c in world.cases.items()}
    for action, expected in (("view", seen), ("change", changeable), ("export", exportable)):
        got = {names[pk] for pk in Case.objects.visible_to(user, action).values_list("pk", flat=True)}
        assert got == expected, (persona, action)


def _denials(user, case):
    return AuditEvent.objects.filter(actor_id=user.pk, action="denied", object_id=str(case.uuid)).count()


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_pages_api_and_pdf(world, persona):
    user = world.users[persona]
    client = signed_in(user)
    seen, _changeable, exportable = EXPECTED[persona]
    for key, case in world.cases.items():
        channels = [
            ("page", reverse("cases:case_detail", args=[case.uuid]), key in seen),
            ("api", f"/api/cases/cases/{case.uuid}/", key in seen),
            ("pdf", reverse("cases:case_pdf", args=[case.uuid]), key in exportable),
        ]
        for channel, url, allowed in channels:
            before = _denials(user, case)
            response = client.get(url)
            if allowed:
                assert response.status_code == 200, (persona, key, channel)
                assert AuditEvent.objects.filter(
                    actor_id=user.pk,
                    object_id=str(case.uuid),
                    action="export" if channel == "pdf" else "view",
                ).exists()
            else:
                assert response.status_code == 404, (persona, key, channel, response.status_code)
                assert _denials(user, case) == before + 1, (persona, key, channel)


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_api_list_matches_scope(world, persona):
    response = signed_in(world.users[persona]).get("/api/cases/cases/")
    names = {str(c.uuid): k for k, c in world.cases.items()}
    if response.status_code == 403:  # only accounts without any role are refused outright
        assert persona == "norole"
        return
    got = {names[row["uuid"]] for row in response.json()["results"]}
    assert got == EXPECTED[persona][0]


def test_member_unit_sees_only_what_the_referral_needs(world):
    edu = world.users["edu_city"]
    case = world.cases["a1_referred"]
    services.add_note(case, world.users["worker_a1"], kind="visit", text="家访：内部记录")
    client = signed_in(edu)
    data = client.get(f"/api/cases/cases/{case.uuid}/").json()
    assert set(data) == {"uuid", "number", "case_type", "state", "persons"}
    assert client.get("/api/cases/notes/", {"case": str(case.uuid)}).json()["results"] == []
    assert not Note.objects.visible_to(edu).exists()
    page = client.get(reverse("cases:case_detail", args=[case.uuid])).content.decode()
    assert "家访：内部记录" not in page and "需要学业支持" in page
    # The referral made the child visible to the member unit through the person rule.
    assert client.get(reverse("registry:person_detail", args=[world.persons["a1"].uuid])).status_code == 200


def test_member_unit_cannot_change_and_is_audited(world):
    edu = world.users["edu_city"]
    case = world.cases["a1_referred"]
    client = signed_in(edu)
    before = _denials(edu, case)
    response = client.post(reverse("cases:note_add", args=[case.uuid]), {"kind": "note", "text": "x"})
    assert response.status_code == 404
    response = client.post(
        f"/api/cases/cases/{case.uuid}/transition/", {"to_state": "assessment", "reason": "x"}
    )
    assert response.status_code == 404
    assert _denials(edu, case) == before + 2


def test_decline_ends_the_member_units_view(world):
    edu = world.users["edu_city"]
    case = world.cases["a1_referred"]
    referral = case.referrals.get()
    client = signed_in(edu)
    response = client.post(f"/api/cases/referrals/{referral.uuid}/respond/", {"accept": False, "reason": ""})
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    response = client.post(
        f"/api/cases/referrals/{referral.uuid}/respond/", {"accept": False, "reason": "不属本单位职责"}
    )
    assert response.status_code == 200
    assert not Case.objects.visible_to(edu).exists()
    assert client.get(reverse("registry:person_detail", args=[world.persons["a1"].uuid])).status_code == 404


def test_worker_of_another_street_cannot_write_through_api(world):
    client = signed_in(world.users["worker_b1"])
    case = world.cases["a1"]
    response = client.post("/api/cases/notes/", {"case": str(case.uuid), "kind": "note", "text": "x"})
    assert response.status_code == 400 and "case" in response.json()["errors"]


def test_withdrawn_referral_ends_the_member_units_view(world):
    case = world.cases["a1_referred"]
    referral = case.referrals.get()
    worker = signed_in(world.users["worker_a1"])
    response = worker.post(
        reverse("cases:referral_withdraw", args=[case.uuid, referral.uuid]), {"reason": ""}
    )
    referral.refresh_from_db()
    assert response.status_code == 302 and referral.status == "sent"  # a reason is required
    worker.post(reverse("cases:referral_withdraw", args=[case.uuid, referral.uuid]), {"reason": "家庭已搬离"})
    referral.refresh_from_db()
    assert referral.status == "withdrawn"
    edu = world.users["edu_city"]
    assert not Case.objects.visible_to(edu).exists()
    assert (
        signed_in(edu).get(reverse("registry:person_detail", args=[world.persons["a1"].uuid])).status_code
        == 404
    )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.withdraw_referral(referral, world.users["worker_a1"], reason="再次撤回")
    # The member unit cannot withdraw (it cannot change the case): 404 and audited.
    before = _denials(edu, case)
    assert (
        signed_in(edu)
        .post(reverse("cases:referral_withdraw", args=[case.uuid, referral.uuid]), {"reason": "x"})
        .status_code
        == 404
    )
    assert _denials(edu, case) == before + 1
