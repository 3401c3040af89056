"""Role grants (三员分立, jurisdiction levels, who may grant), accounts and tokens."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from weibao.accounts import services
from weibao.accounts.choices import Role
from weibao.accounts.models import ApiToken, RoleAssignment, User
from weibao.audit.models import AuditEvent
from weibao.lib.testing import A1, CITY, DISTRICT_A, area, org

pytestmark = pytest.mark.django_db


def _grant(world, user, role, org_key, area_code, actor="secadmin"):
    assignment = RoleAssignment(user=user, role=role, organisation=org(*org_key), area=area(area_code))
    return services.grant_role(assignment, actor=world.users[actor], reason="测试")


@pytest.mark.parametrize(
    "first,second",
    [
        (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN),
        (Role.SYSTEM_ADMIN, Role.AUDIT_ADMIN),
        (Role.SECURITY_ADMIN, Role.AUDIT_ADMIN),
    ],
)
def test_three_admin_duties_are_never_held_by_one_user(world, first, second):
    user = User.objects.create_user("newadmin", password="x")
    _grant(world, user, first, ("committee_office", CITY), CITY)
    with pytest.raises(ValidationError) as exc:
        _grant(world, user, second, ("committee_office", CITY), CITY)
    assert "三员分立" in str(exc.value.message_dict["role"])
    assert set(user.role_assignments.values_list("role", flat=True)) == {first}


def test_the_same_admin_duty_at_another_level_is_allowed(world):
    user = User.objects.create_user("admin2", password="x")
    _grant(world, user, Role.SYSTEM_ADMIN, ("committee_office", CITY), CITY)
    _grant(world, user, Role.SYSTEM_ADMIN, ("district_office", DISTRICT_A), DISTRICT_A)
    assert user.role_assignments.count() == 2


def test_workstation_roles_need_a_street_jurisdiction(world):
    user = User.objects.create_user("w", password="x")
    with pytest.raises(ValidationError) as exc:
        _grant(world, user, Role.WORKSTATION_WORKER, ("district_office", DISTRICT_A), DISTRICT_A)
    assert "街镇" in str(exc.value.message_dict["area"])


def test_jurisdiction_must_lie_inside_the_organisations_area(world):
    user = User.objects.create_user("w", password="x")
    with pytest.raises(ValidationError) as exc:
        _grant(world, user, Role.DISTRICT_OFFICE, ("district_office", DISTRICT_A), "310115")
    assert "area" in exc.value.message_dict


def test_only_security_admins_grant_and_never_to_themselves(world):
    user = User.objects.create_user("w", password="x")
    with pytest.raises(PermissionDenied):
        _grant(world, user, Role.WORKSTATION_WORKER, ("workstation", A1), A1, actor="sysadmin")
    with pytest.raises(PermissionDenied):
        _grant(world, world.users["secadmin"], Role.CITY_OFFICE, ("committee_office", CITY), CITY)


def test_grant_and_revoke_are_audited_with_reason(world):
    user = User.objects.create_user("w", password="x")
    assignment = _grant(world, user, Role.WORKSTATION_WORKER, ("workstation", A1), A1)
    services.revoke_role(assignment, actor=world.users["secadmin"], reason="调岗")
    actions = list(
        AuditEvent.objects.filter(object_id=str(user.uuid)).order_by("seq").values_list("action", "reason")
    )
    assert actions == [("role_grant", "测试"), ("role_revoke", "调岗")]
    assert not user.role_assignments.exists()


def test_role_grant_page_shows_the_three_duties_error_beside_the_field(client, world):
    from weibao.lib.testing import verify_second_factor

    verify_second_factor(client, world.users["secadmin"])
    target = world.users["sysadmin"]
    office = org("committee_office", CITY)
    response = client.post(
        f"/accounts/users/{target.uuid}/",
        {
            "role": Role.AUDIT_ADMIN,
            "organisation": office.pk,
            "area": area(CITY).pk,
            "valid_from": "2026-01-01",
            "reason": "x",
        },
    )
    assert response.status_code == 200
    assert "三员分立" in response.content.decode()


def test_save_user_validates_password_policy(world):
    user = User(username="newbie", full_name="新人")
    with pytest.raises(ValidationError):
        services.save_user(user, actor=world.users["sysadmin"], password="alllowercase123")
    services.save_user(user, actor=world.users["sysadmin"], password="Much-Better-2026")
    assert user.check_password("Much-Better-2026")
    event = AuditEvent.objects.filter(object_id=str(user.uuid)).latest("seq")
    assert event.changes["password"] == [None, "***"]  # that it changed, never the value


def test_only_system_admins_manage_accounts(world):
    with pytest.raises(PermissionDenied):
        services.save_user(User(username="x"), actor=world.users["secadmin"], password="Much-Better-2026")


def test_token_authenticates_until_revoked_or_expired(client, world):
    user = world.users["worker_a1"]
    token, key = services.create_token(actor=user, name="对接", days=30)
    assert token.key_hash != key and key.startswith("wb_")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/registry/persons/", **auth).status_code == 200
    assert AuditEvent.objects.filter(action="token_use", actor_id=user.pk).exists()
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get("/api/registry/persons/", **auth).status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now() + datetime.timedelta(days=1))
    services.revoke_token(token, actor=user)
    response = client.get("/api/registry/persons/", **auth)
    assert response.status_code == 401 and "吊销" in response.json()["detail"]


def test_token_lifetime_is_bounded(world):
    with pytest.raises(ValidationError) as exc:
        services.create_token(actor=world.users["city"], name="x", days=1000)
    assert "days" in exc.value.message_dict


def test_token_api_creates_lists_and_revokes(client, world):
    from weibao.lib.testing import verify_second_factor

    verify_second_factor(client, world.users["city"])
    created = client.post(
        "/api/accounts/tokens/", {"name": "统计对接", "days": 7}, content_type="application/json"
    )
    assert created.status_code == 201
    key, uuid = created.json()["key"], created.json()["token"]["uuid"]
    assert [t["uuid"] for t in client.get("/api/accounts/tokens/").json()["results"]] == [uuid]
    assert client.post(f"/api/accounts/tokens/{uuid}/revoke/").json()["revoked_at"]
    assert client.get("/api/registry/persons/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_malformed_authorization_header_is_explained(client, db):
    response = client.get("/api/registry/persons/", HTTP_AUTHORIZATION="Bearer a b")
    assert response.status_code == 401 and "Authorization" in response.json()["detail"]


def test_an_account_without_roles_cannot_mint_tokens_even_through_the_api(client, world):
    client.force_login(world.users["norole"])
    response = client.post("/api/accounts/tokens/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403 and not ApiToken.objects.exists()
