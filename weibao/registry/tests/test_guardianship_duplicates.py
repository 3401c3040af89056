"""The same guardian twice: a field error on ``guardian``, whether "since" is empty (the database does not
refuse two empty days) or set and two submits pass the check at once (the database refuses: never a 500)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from weibao.lib.testing import A1, area, verify_second_factor
from weibao.registry import services
from weibao.registry.models import Guardianship, Person

pytestmark = pytest.mark.django_db

ALREADY = "(this guardian is already recorded in this relation)"


@pytest.fixture
def pair(world):
    actor = world.users["worker_a1"]
    child = services.save_person(
        Person(name="张小明", sex="M", birth_date="2015-06-01", street=area(A1)), actor=actor
    )
    father = services.save_person(Person(name="张大山", kind="adult", sex="M", street=area(A1)), actor=actor)
    return actor, child, father


def _add(actor, child, father, since=None, relation="father"):
    return services.add_guardianship(
        Guardianship(minor=child, guardian=father, relation=relation, since=since), actor=actor
    )


def test_the_same_guardian_twice_without_a_since_is_refused(pair):
    actor, child, father = pair
    _add(*pair)
    with pytest.raises(ValidationError) as e:
        _add(*pair)
    assert ALREADY in e.value.message_dict["guardian"][0]
    assert child.guardianships.count() == 1
    _add(*pair, relation="other_relative")  # another relation is another record
    _add(*pair, since=datetime.date(2020, 1, 1))  # and so is a dated one
    assert child.guardianships.count() == 3


def test_the_same_dated_guardian_twice_names_the_field(pair):
    _add(*pair, since=datetime.date(2020, 1, 1))
    with pytest.raises(ValidationError) as e:
        _add(*pair, since=datetime.date(2020, 1, 1))
    assert set(e.value.message_dict) == {"guardian"}


def test_two_dated_submits_passing_the_check_at_once_are_a_field_error(pair, monkeypatch):
    actor, child, father = pair
    since = datetime.date(2020, 1, 1)
    _add(*pair, since=since)
    monkeypatch.setattr(services, "_guardianship_exists", lambda g: False)  # the other submit's row unseen
    with pytest.raises(ValidationError) as e:
        _add(*pair, since=since)
    assert ALREADY in e.value.message_dict["guardian"][0]
    assert child.guardianships.count() == 1


def test_the_person_page_shows_the_duplicate_guardian_error(client, world, pair):
    actor, child, father = pair
    _add(*pair)
    verify_second_factor(client, actor)
    response = client.post(
        reverse("registry:person_add_guardian", args=[child.uuid]),
        {"guardian": str(father.uuid), "relation": "father"},
        follow=True,
    )
    assert response.status_code == 200
    assert "该监护人已以此关系登记" in response.content.decode()
    assert child.guardianships.count() == 1
