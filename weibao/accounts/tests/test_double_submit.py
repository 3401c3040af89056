"""Two saves at once (a double submit): a field error naming the field, never an IntegrityError (a 500).

The race is simulated deterministically: the uniqueness check is made to miss the row another submit has
just written, as when two transactions both pass the check before either inserts.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from weibao.accounts import services
from weibao.accounts.models import Organisation, OrganisationType, User
from weibao.lib.checksums import uscc_check_char
from weibao.lib.testing import A1, area, verify_second_factor

pytestmark = pytest.mark.django_db

USCC = "12310101" + "425012345"
USCC += uscc_check_char(USCC)


def _blind_first_check(monkeypatch):
    """``Organisation.clashes`` misses the other row the first time (the check before the insert)."""
    real, calls = Organisation.clashes, []

    def clashes(self):
        calls.append(1)
        return {} if len(calls) == 1 else real(self)

    monkeypatch.setattr(Organisation, "clashes", clashes)


def _organisation(name="测试学校", uscc=""):
    return Organisation(name=name, type=OrganisationType.objects.get(code="school"), area=area(A1), uscc=uscc)


def test_a_second_organisation_of_the_same_name_passing_the_check_is_a_name_error(world, monkeypatch):
    services.save_organisation(_organisation(), actor=world.users["sysadmin"])
    _blind_first_check(monkeypatch)
    with pytest.raises(ValidationError) as e:
        services.save_organisation(_organisation(), actor=world.users["sysadmin"])
    assert "(an organisation of this name already exists in the area)" in e.value.message_dict["name"][0]
    assert Organisation.objects.filter(name="测试学校").count() == 1


def test_a_second_organisation_with_the_same_uscc_passing_the_check_is_a_uscc_error(world, monkeypatch):
    services.save_organisation(_organisation(uscc=USCC), actor=world.users["sysadmin"])
    _blind_first_check(monkeypatch)
    with pytest.raises(ValidationError) as e:
        services.save_organisation(_organisation("另一所学校", uscc=USCC), actor=world.users["sysadmin"])
    assert set(e.value.message_dict) == {"uscc"}
    assert "(the credit code is already in use)" in e.value.message_dict["uscc"][0]


def test_duplicates_name_the_field_in_the_api_and_the_form(client, world):
    services.save_organisation(_organisation(uscc=USCC), actor=world.users["sysadmin"])
    verify_second_factor(client, world.users["sysadmin"])
    response = client.post(
        "/api/accounts/organisations/",
        {"name": "测试学校", "type": "school", "area": A1},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name"}, response.json()
    response = client.post(
        reverse("accounts:organisation_add"),
        {
            "name": "测试学校",
            "type": OrganisationType.objects.get(code="school").pk,
            "area": area(A1).pk,
            "uscc": USCC,
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "name" in form.errors and "uscc" in form.errors and not form.non_field_errors()
    assert "该区域已有同名单位" in form.errors["name"][0]


def test_a_second_account_of_the_same_username_passing_the_check_is_a_username_error(world, monkeypatch):
    User.objects.create_user("newbie", password="x")
    monkeypatch.setattr(User, "validate_unique", lambda self, exclude=None: None)
    with pytest.raises(ValidationError) as e:
        services.save_user(User(username="newbie"), actor=world.users["sysadmin"])
    assert "(the username is already taken)" in e.value.message_dict["username"][0]
    assert User.objects.filter(username="newbie").count() == 1
