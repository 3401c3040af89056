"""The role matrix for record linkage: the review queue, its decisions, merge and split — for every persona.

Each persona's expectations are written out (as in ``weibao/accounts/tests/test_access.py``): which pairs
of the review queue it sees and may decide (page and API), which persons it may merge (API; the page
merges through "same child") and which merges it may split (page and API). A pair belongs to a persona
only when it may change both records; a merge or split needs change rights on the persons involved.
"""

import pytest
from django.urls import reverse

from weibao.audit.models import AuditEvent
from weibao.lib.testing import PERSONAS, verify_second_factor
from weibao.registry import services
from weibao.registry.models import DepartmentLink, MatchCandidate, MergeRecord, Person

pytestmark = pytest.mark.django_db

ALL = {"a1", "a1_sensitive", "a2", "b1", "a2_police", "b1_police", "b1_edu"}
NONE: set[str] = set()
DISTRICT_A = {"a1", "a2", "a2_police"}
B1_ALL = {"b1", "b1_police", "b1_edu"}

# persona → (review queue page status, pairs it sees and may decide, persons it may merge, merges it may split)
# The keys are the world's persons (``build_world``); each has a second record of the same child waiting in
# the queue, a third to merge into it, and a fourth already merged into it.
REVIEW_MATRIX = {
    "city": (200, ALL, ALL, ALL),
    "district_a": (200, DISTRICT_A, DISTRICT_A, DISTRICT_A),
    "worker_a1": (200, {"a1"}, {"a1"}, {"a1"}),
    "lead_a1": (200, {"a1", "a1_sensitive"}, {"a1", "a1_sensitive"}, {"a1", "a1_sensitive"}),
    "worker_b1": (200, B1_ALL, B1_ALL, B1_ALL),
    "police_a": (403, NONE, NONE, NONE),  # sees what it sent, changes nothing
    "prosecutor_a": (403, NONE, NONE, NONE),
    "court_a": (403, NONE, NONE, NONE),
    "edu_city": (403, NONE, NONE, NONE),
    "reporter": (403, NONE, NONE, NONE),
    "hr": (403, NONE, NONE, NONE),
    "sysadmin": (403, NONE, NONE, NONE),
    "secadmin": (403, NONE, NONE, NONE),
    "auditor": (403, NONE, NONE, NONE),
    "sysadmin_a": (403, NONE, NONE, NONE),
    "norole": (403, NONE, NONE, NONE),
}


def test_review_matrix_covers_every_persona():
    assert set(REVIEW_MATRIX) == set(PERSONAS)


def _copy(person, name):
    """Another record of the same child: same street, sensitivity and department links."""
    copy = Person.objects.create(
        name=name, sex=person.sex, birth_date=person.birth_date, street=person.street,
        sensitivity=person.sensitivity,
    )  # fmt: skip
    for link in DepartmentLink.objects.filter(person=person):
        DepartmentLink.objects.create(person=copy, organisation=link.organisation, basis=link.basis)
    return copy


@pytest.fixture
def linked(world):
    """For every world person: a pending pair, a record to merge, a merge to split."""
    pairs, to_merge, merges = {}, {}, {}
    for key, person in world.persons.items():
        pairs[key] = MatchCandidate.objects.create(
            person=_copy(person, f"{person.name}副本"),
            other=person,
            match_probability=0.8,
            model_version="v1",
        )
        to_merge[key] = _copy(person, f"{person.name}另录")
        merges[key] = services.merge_persons(
            person, _copy(person, f"{person.name}旧录"), actor=world.users["city"], reason="矩阵准备"
        )
    return pairs, to_merge, merges


def _client(client, world, persona):
    verify_second_factor(client, world.users[persona])
    return client


@pytest.mark.parametrize("persona", sorted(REVIEW_MATRIX))
def test_review_queue_page_shows_and_decides_exactly_the_pairs_in_scope(client, world, linked, persona):
    page_status, decide, _merge, _split = REVIEW_MATRIX[persona]
    pairs, _, _ = linked
    c = _client(client, world, persona)
    page = c.get(reverse("registry:review_queue"))
    assert page.status_code == page_status
    if page_status == 200:
        assert page.context["waiting"] == len(decide)
    for key, candidate in pairs.items():
        response = c.post(
            reverse("registry:review_queue"), {"candidate": candidate.uuid, "decision": "different"}
        )
        expected = 302 if key in decide else (404 if page_status == 200 else 403)
        assert response.status_code == expected, f"{persona} decide {key}"
        candidate.refresh_from_db()
        assert (candidate.status == "different") == (key in decide), f"{persona} decided {key}"
    reviewed = AuditEvent.objects.filter(action="review", actor=world.users[persona]).count()
    assert reviewed == len(decide)


@pytest.mark.parametrize("persona", sorted(REVIEW_MATRIX))
def test_review_api_lists_and_decides_exactly_the_pairs_in_scope(client, world, linked, persona):
    _status, decide, _merge, _split = REVIEW_MATRIX[persona]
    pairs, _, _ = linked
    c = _client(client, world, persona)
    listing = c.get("/api/registry/match-candidates/?status=pending&limit=100")
    assert listing.status_code == 200
    assert {r["uuid"] for r in listing.json()["results"]} == {str(pairs[k].uuid) for k in decide}
    for key, candidate in pairs.items():
        url = f"/api/registry/match-candidates/{candidate.uuid}/"
        assert c.get(url).status_code == (200 if key in decide else 404), f"{persona} api pair {key}"
        response = c.post(f"{url}decide/", {"decision": "skipped"}, content_type="application/json")
        assert response.status_code == (200 if key in decide else 404), f"{persona} api decide {key}"


@pytest.mark.parametrize("persona", sorted(REVIEW_MATRIX))
def test_merge_api_merges_exactly_the_persons_in_scope(client, world, linked, persona):
    _status, _decide, merge, _split = REVIEW_MATRIX[persona]
    _, to_merge, _ = linked
    c = _client(client, world, persona)
    for key, person in world.persons.items():
        response = c.post(
            f"/api/registry/persons/{person.uuid}/merge/",
            {"other": str(to_merge[key].uuid), "reason": "矩阵"},
            content_type="application/json",
        )
        assert response.status_code == (201 if key in merge else 404), f"{persona} merge {key}"
        merged = Person.all_objects.get(pk=to_merge[key].pk).merged_into_id == person.pk
        assert merged == (key in merge), f"{persona} merged {key}"


@pytest.mark.parametrize("persona", sorted(REVIEW_MATRIX))
def test_split_page_and_api_split_exactly_the_merges_in_scope(client, world, linked, persona):
    _status, _decide, _merge, split = REVIEW_MATRIX[persona]
    _, _, merges = linked
    c = _client(client, world, persona)
    listing = c.get("/api/registry/merges/?limit=100")
    assert {r["uuid"] for r in listing.json()["results"]} == {str(merges[k].uuid) for k in split}
    for key, merge in merges.items():
        page = c.post(
            reverse("registry:person_split", args=[world.persons[key].uuid, merge.uuid]), {"reason": "矩阵"}
        )
        assert page.status_code == (302 if key in split else 404), f"{persona} split page {key}"
        assert (MergeRecord.objects.get(pk=merge.pk).split_at is not None) == (key in split)
    for key, merge in merges.items():  # the API on the merges the page could not split (or already did)
        response = c.post(
            f"/api/registry/merges/{merge.uuid}/split/", {"reason": "矩阵"}, content_type="application/json"
        )
        assert response.status_code == (400 if key in split else 404), f"{persona} split api {key}"
