import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from weibao.accounts.access import ROLE_JURISDICTION_LEVEL, SEPARATED_ADMIN_ROLES
from weibao.accounts.choices import AreaLevel, Role, StreetKind
from weibao.accounts.models import Organisation, RoleAssignment, User
from weibao.accounts.services import check_assignment
from weibao.audit.models import AuditEvent
from weibao.lib.dates import add_years
from weibao.registry.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
from weibao.registry.models import DepartmentLink, Person

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def minors_qs():
    return Person.objects.filter(birth_date__gt=add_years(timezone.localdate(), -18))


def population():
    return sorted(Person.objects.values_list("name", "sex", "birth_date", "street_id", "sensitivity"))


def test_seed_demo_creates_population_users_and_links():
    out = seed("--minors", "300")

    minors = minors_qs().count()
    guardians = Person.objects.count() - minors
    assert minors == 300
    assert 300 * 0.6 < guardians < 300 * 1.5  # 1–2 guardians for 1–3 minors
    today = timezone.localdate()
    adult_cutoff = add_years(today, -20)
    assert not Person.objects.filter(
        birth_date__gt=adult_cutoff, birth_date__lte=add_years(today, -18)
    ).exists()
    assert not Person.objects.exclude(street__level=AreaLevel.STREET).exists()
    assert not Person.objects.filter(street__kind=StreetKind.ZONE).exists()
    assert set(Person.objects.values_list("sensitivity", flat=True)) <= {"normal", "sensitive"}

    links = DepartmentLink.objects.filter(basis="sent")
    assert 5 <= links.count() <= 70  # about one minor in ten
    # the demo casework: a school's report routed to the police links that child to them, nothing else
    assert set(DepartmentLink.objects.exclude(basis="sent").values_list("basis", flat=True)) <= {"referred"}
    assert not links.filter(person__birth_date__lte=add_years(today, -18)).exists()

    # A user with a valid assignment for every role; 三员分立 holds.
    assignments = RoleAssignment.objects.select_related("user", "organisation", "area", "organisation__area")
    assert {a.role for a in assignments} == set(Role.values)
    for a in assignments:
        check_assignment(a)
        if a.role in ROLE_JURISDICTION_LEVEL:
            assert a.area.level == ROLE_JURISDICTION_LEVEL[a.role]
        privileged = a.role in {Role.CITY_OFFICE, Role.WORKSTATION_LEAD}
        assert a.may_see_full_id is privileged and a.may_read_sensitive is privileged
    for user in User.objects.all():
        held = {a.role for a in assignments if a.user_id == user.pk}
        assert len(held & SEPARATED_ADMIN_ROLES) <= 1
    assert set(User.objects.values_list("username", flat=True)) >= {u[0] for u in DEMO_USERS}
    assert User.objects.get(username="worker_pd").role_assignments.get().area.parent.code == "310115"
    assert User.objects.get(username="huangpu").role_assignments.get().area.code == "310101"
    reporter = User.objects.get(username="reporter").role_assignments.get()
    assert reporter.organisation.type.code == "school"
    assert User.objects.get(username="city").check_password(DEMO_PASSWORD)

    for type_code in ("school", "kindergarten", "hospital", "residents_committee", "hotel", "employer"):
        assert Organisation.objects.filter(type__code=type_code, area__level=AreaLevel.STREET).count() >= 2

    event = AuditEvent.objects.get(object_repr="seed_demo")
    assert event.action == "create" and event.actor_username == "system:seed_demo"
    assert event.extra["minors"] == 300 and event.extra["guardians"] == guardians

    assert DEMO_PASSWORD in out  # tests run in development mode: the logins are printed
    assert "TOTP" in out and "sysadmin" in out


def test_second_run_adds_no_users_or_organisations():
    seed("--minors", "0")
    counts = (User.objects.count(), RoleAssignment.objects.count(), Organisation.objects.count())
    out = seed("--minors", "0")
    assert (User.objects.count(), RoleAssignment.objects.count(), Organisation.objects.count()) == counts
    assert "0 created" in out
    assert AuditEvent.objects.filter(object_repr="seed_demo").count() == 2


def test_chunks_give_the_same_population():
    out = seed("--minors", "250", "--chunk", "100", "--no-users")
    assert minors_qs().count() == 250
    assert out.count("chunk ") == 3
    assert not User.objects.filter(username="city").exists()
    chunked = population()
    links = DepartmentLink.objects.count()

    Person.objects.all().delete()
    seed("--minors", "250", "--chunk", "1000", "--no-users")
    assert population() == chunked
    assert DepartmentLink.objects.count() == links

    Person.objects.all().delete()
    seed("--minors", "250", "--no-users", "--seed", "1")
    assert population() != chunked


def test_production_mode_prints_no_passwords(settings):
    settings.DEV_MODE = False
    out = seed("--minors", "0")
    assert DEMO_PASSWORD not in out
    assert "changepassword" in out
    assert not User.objects.get(username="city").has_usable_password()


def test_weak_password_is_refused():
    with pytest.raises(CommandError):
        seed("--minors", "0", "--password", "short")


@pytest.mark.django_db
def test_seeded_persons_have_unique_valid_encrypted_ids_households_and_guardians():
    from django.core.management import call_command

    from weibao.lib.checksums import validate_id_number
    from weibao.lib.crypto import decrypt
    from weibao.registry.models import Guardianship, IdentityDocument, Person

    call_command("seed_demo", "--minors", "200", "--no-users", stdout=io.StringIO())
    persons = Person.objects.count()
    documents = list(IdentityDocument.objects.select_related("person"))
    assert len(documents) == persons
    assert len({d.number_index for d in documents}) == persons  # unique numbers
    for d in documents[:50]:
        number = decrypt(d.number_encrypted)
        validate_id_number(number)
        assert number[6:14] == d.person.birth_date.strftime("%Y%m%d")
        assert int(number[16]) % 2 == (1 if d.person.sex == "M" else 0)
    minors = Person.objects.filter(kind="minor")
    assert minors.count() == 200 and not minors.filter(household__isnull=True).exists()
    assert Guardianship.objects.values("minor").distinct().count() == 200
    g = Guardianship.objects.select_related("minor", "guardian").first()
    assert g.guardian.household_id == g.minor.household_id and g.guardian.kind == "adult"
    assert minors.exclude(name_pinyin="").count() == 200


def test_demo_casework_fills_reports_alerts_and_cases():
    from weibao.alerts.models import Alert
    from weibao.cases.models import Case
    from weibao.reports.models import Report

    out = seed("--minors", "10000")  # the default: about ten children in the demo street
    assert "casework: 14 department events, 2 mandatory reports" in out
    assert Report.objects.count() == 2 and Report.objects.filter(status="decided").count() == 1
    assert Alert.objects.filter(rule__code="dv_repeated").count() == 1
    assert Alert.objects.values("person").distinct().count() >= 4
    case = Case.objects.get()
    assert case.report.cases.get() == case and case.workers.get().username == "worker"
    assert "casework" not in seed("--minors", "10000")  # a second run adds none
    assert Report.objects.count() == 2
