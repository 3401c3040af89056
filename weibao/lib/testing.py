"""Shared test fixtures: named personas in and out of each other's jurisdiction, and scoped objects.

Reference data (areas, organisation types, offices and workstations) comes from the accounts data
migration, so every test database has the real Shanghai districts and streets.

Geography used everywhere:
  A1, A2 — two streets of 黄浦区 (district A);  B1 — a street of 浦东新区 (district B).
"""

import datetime
from dataclasses import dataclass, field

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from weibao.accounts.choices import Role
from weibao.accounts.models import Area, Organisation, OrganisationType, RoleAssignment, User
from weibao.registry.models import DepartmentLink, Person

PASSWORD = "Correct-Horse-42!"
A1, A2, B1 = "310101002", "310101013", "310115004"
DISTRICT_A, DISTRICT_B, CITY = "310101", "310115", "310000"


def area(code: str) -> Area:
    return Area.objects.get(code=code)


def org(type_code: str, area_code: str, name: str | None = None) -> Organisation:
    """An organisation of a type in an area: the reference one if it exists, else a new one."""
    existing = Organisation.objects.filter(type__code=type_code, area__code=area_code)
    if name:
        existing = existing.filter(name=name)
    found = existing.order_by("pk").first()
    if found:
        return found
    return Organisation.objects.create(
        name=name or f"测试{type_code}{area_code}",
        type=OrganisationType.objects.get(code=type_code),
        area=area(area_code),
    )


def make_user(
    username: str, role: str | None = None, organisation=None, area_code: str | None = None, **flags
) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, full_name=username)
    if role:
        RoleAssignment.objects.create(
            user=user,
            role=role,
            organisation=organisation,
            area=area(area_code or organisation.area.code),
            **flags,
        )
    return user


def verify_second_factor(client, user) -> None:
    """Log ``user`` in on ``client`` with a confirmed TOTP device, as if they had typed a valid code."""
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="test", defaults={"confirmed": True})
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def signed_in(user) -> Client:
    """A test client of ``user``, logged in with the second factor passed."""
    client = Client()
    verify_second_factor(client, user)
    return client


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    persons: dict[str, Person] = field(default_factory=dict)
    orgs: dict[str, Organisation] = field(default_factory=dict)


# Persona name → (role, organisation (type, area), jurisdiction area, flags)
PERSONAS = {
    "city": (
        Role.CITY_OFFICE,
        ("committee_office", CITY),
        CITY,
        {"may_read_sensitive": True, "may_see_full_id": True},
    ),
    "district_a": (Role.DISTRICT_OFFICE, ("district_office", DISTRICT_A), DISTRICT_A, {}),
    "worker_a1": (Role.WORKSTATION_WORKER, ("workstation", A1), A1, {}),
    "lead_a1": (Role.WORKSTATION_LEAD, ("workstation", A1), A1, {"may_read_sensitive": True}),
    "worker_b1": (Role.WORKSTATION_WORKER, ("workstation", B1), B1, {}),
    "police_a": (Role.POLICE_OFFICER, ("police", DISTRICT_A), DISTRICT_A, {}),
    "prosecutor_a": (Role.PROSECUTOR, ("procuratorate", DISTRICT_A), DISTRICT_A, {}),
    "court_a": (Role.COURT_STAFF, ("court", DISTRICT_A), DISTRICT_A, {}),
    "edu_city": (Role.MEMBER_UNIT_OFFICER, ("member_unit", CITY), CITY, {}),
    "reporter": (Role.MANDATED_REPORTER, ("school", A1), A1, {}),
    "hr": (Role.EMPLOYER_HR, ("employer", A1), A1, {}),
    "sysadmin": (Role.SYSTEM_ADMIN, ("committee_office", CITY), CITY, {}),
    "secadmin": (Role.SECURITY_ADMIN, ("committee_office", CITY), CITY, {}),
    "auditor": (Role.AUDIT_ADMIN, ("committee_office", CITY), CITY, {}),
    "sysadmin_a": (Role.SYSTEM_ADMIN, ("district_office", DISTRICT_A), DISTRICT_A, {}),
    "norole": (None, None, None, {}),
}


def build_world() -> World:
    world = World()
    for name, (role, org_key, area_code, flags) in PERSONAS.items():
        organisation = org(*org_key) if org_key else None
        world.users[name] = make_user(name, role, organisation, area_code, **flags)
    police_a = org("police", DISTRICT_A)
    edu = org("member_unit", CITY)
    world.orgs.update(police_a=police_a, edu=edu)
    born = datetime.date(2015, 6, 1)
    for key, street, sensitivity in [
        ("a1", A1, "normal"),
        ("a1_sensitive", A1, "sensitive"),
        ("a2", A2, "normal"),
        ("b1", B1, "normal"),
        ("a2_police", A2, "normal"),
        ("b1_police", B1, "normal"),
        ("b1_edu", B1, "normal"),
    ]:
        world.persons[key] = Person.objects.create(
            name=f"测试{key}", sex="F", birth_date=born, street=area(street), sensitivity=sensitivity
        )
    DepartmentLink.objects.create(person=world.persons["a2_police"], organisation=police_a, basis="sent")
    DepartmentLink.objects.create(person=world.persons["b1_police"], organisation=police_a, basis="sent")
    DepartmentLink.objects.create(person=world.persons["b1_edu"], organisation=edu, basis="sent")
    return world


def build_browser_world() -> World:
    """``build_world`` plus what the browser flows need: a pair waiting in the review queue."""
    from weibao.registry.models import MatchCandidate

    world = build_world()
    born = datetime.date(2016, 3, 8)
    a = Person.objects.create(
        name="陈思远", name_pinyin="chensiyuan", sex="M", birth_date=born, street=area(A1)
    )
    b = Person.objects.create(
        name="陈思源", name_pinyin="chensiyuan", sex="M", birth_date=born, street=area(A1)
    )
    MatchCandidate.objects.create(
        person=a,
        other=b,
        match_probability=0.87,
        model_version="demo",
        match_weights={"姓名拼音": 4.2, "出生日期": 6.1, "街镇": 1.3, "姓名汉字": -1.1},
    )
    world.persons.update(review_a=a, review_b=b)
    from weibao.feeds.models import EventType, Feed

    Feed.objects.create(
        code="huangpu_dv",
        name="黄浦分局家暴警情",
        owner=world.orgs["police_a"],
        carries="events",
        event_type=EventType.objects.get(code="police_dv_callout"),
    )
    return world
