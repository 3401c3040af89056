"""Seed a demo database: demo organisations, one login per role, and a synthetic population of minors.

Organisations and users are created idempotently (a second run adds none). The population is added on
every run (``--minors 0`` skips it); the same ``--seed`` on the same day gives the same names, dates and
streets whatever ``--chunk`` is. Rows are generated and written chunk by chunk, so memory stays flat up to
millions of minors.
"""

import random
import sys
import time
import unicodedata
import uuid
from bisect import bisect_right
from itertools import accumulate

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, reset_queries, transaction
from django.utils import timezone

from weibao.accounts.access import SECOND_FACTOR_ROLES
from weibao.accounts.choices import AreaLevel, Role, StreetKind
from weibao.accounts.models import Area, Organisation, OrganisationType, RoleAssignment, User
from weibao.accounts.services import check_assignment
from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.checksums import id_check_char
from weibao.lib.memory import cycles_paused
from weibao.lib.pinyin import name_keys
from weibao.lib.synthetic import PopulationGenerator
from weibao.registry.choices import DocumentType, GuardianRelation, LinkBasis, Sensitivity
from weibao.registry.models import DepartmentLink, Guardianship, Household, IdentityDocument, Person
from weibao.registry.services import document_fields

DEMO_PASSWORD = "Weibao-Demo-2023!"
CITY, HUANGPU, PUDONG = "310000", "310101", "310115"
DEMO_MARK = "（演示）"  # demo organisations are fictitious; the mark keeps them apart from real ones

LINK_SHARE = 0.10  # share of minors some department has sent data about
# Which department sent the data: 市教委 or the minor's district police, procuratorate, court.
LINK_TARGETS = (("edu", 0.45), ("police", 0.40), ("procuratorate", 0.08), ("court", 0.07))

# Demo organisations made in each demo street: (key, type code, name pattern). {district}, {street}, {stem}.
DEMO_ORGANISATIONS = (
    ("school", "school", "{district}{stem}小学"),
    ("kindergarten", "kindergarten", "{district}{stem}幼儿园"),
    ("hospital", "hospital", "{district}{street}社区卫生服务中心"),
    ("residents_committee", "residents_committee", "{district}{stem}第一居民委员会"),
    ("hotel", "hotel", "{district}{stem}宾馆"),
    ("employer", "employer", "上海{stem}餐饮管理有限公司"),
)

# username, full name, role, organisation key, jurisdiction key, may_read_sensitive and may_see_full_id
DEMO_USERS = (
    ("city", "陈静", Role.CITY_OFFICE, "committee_office", "city", True),
    ("huangpu", "王磊", Role.DISTRICT_OFFICE, "huangpu_office", "huangpu", False),
    ("worker", "李婷", Role.WORKSTATION_WORKER, "workstation", "street", False),
    ("lead", "张伟", Role.WORKSTATION_LEAD, "workstation", "street", True),
    ("worker_pd", "刘洋", Role.WORKSTATION_WORKER, "workstation_pd", "street_pd", False),
    ("edu", "杨帆", Role.MEMBER_UNIT_OFFICER, "edu", "city", False),
    ("police", "赵刚", Role.POLICE_OFFICER, "police", "huangpu", False),
    ("prosecutor", "周敏", Role.PROSECUTOR, "procuratorate", "huangpu", False),
    ("court", "吴昊", Role.COURT_STAFF, "court", "huangpu", False),
    ("reporter", "徐丽", Role.MANDATED_REPORTER, "school", "street", False),
    ("hr", "孙悦", Role.EMPLOYER_HR, "employer", "street", False),
    ("sysadmin", "马骏", Role.SYSTEM_ADMIN, "committee_office", "city", False),
    ("secadmin", "朱琳", Role.SECURITY_ADMIN, "committee_office", "city", False),
    ("auditor", "胡军", Role.AUDIT_ADMIN, "committee_office", "city", False),
)


def _stem(street_name: str) -> str:
    for suffix in ("街道", "镇", "乡"):
        if street_name.endswith(suffix) and len(street_name) > len(suffix) + 1:
            return street_name[: -len(suffix)]
    return street_name


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _peak_rss() -> str:
    """``, peak RSS n MB`` where the platform tells (Linux: kilobytes, macOS: bytes)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return ""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return f", peak RSS {peak / (1 << 20 if sys.platform == 'darwin' else 1 << 10):.0f} MB"


def _insert(model, objs, largest: int = 2048) -> None:
    """``bulk_create`` in batches whose sizes are powers of two.

    sqlite3 keeps the last 128 compiled statements, and a compiled multi-row INSERT of a few thousand rows
    takes megabytes: with one odd-sized last batch per chunk the cache grows by ~3 MB a chunk up to ~400 MB.
    Batches of 2048, 1024, … rows keep the distinct statements to a dozen per model, so memory stays flat.
    """
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    limit = min(largest, connection.ops.bulk_batch_size(fields, objs) or 1)
    size = 1 << (limit.bit_length() - 1)  # the largest power of two within the backend's limit
    start, total = 0, len(objs)
    while start < total:
        while size > total - start:
            size >>= 1
        model._default_manager.bulk_create(objs[start : start + size], batch_size=size)
        start += size


def _person_factory():
    """``make(name, sex, birth_date, street_id, sensitivity, kind, household)`` → unsaved ``Person``."""

    def make(name, sex, birth_date, street_id, sensitivity, kind, household):
        pinyin, initials = name_keys(name)
        return Person(
            uuid=uuid.uuid4(),
            kind=kind,
            name=name,
            name_pinyin=pinyin,
            name_initials=initials,
            sex=sex,
            birth_date=birth_date,
            street_id=street_id,
            sensitivity=sensitivity,
            household=household,
        )

    return make


class IdNumbers:
    """Unique, valid ID numbers: a sequence counter per (district, birth date, sex), from a random start."""

    def __init__(self, seed: int):
        self._rng = random.Random(seed * 7919 + 3)
        self._next: dict[tuple, int] = {}

    def __call__(self, district_code, birth_date, sex) -> str:
        key = (district_code, birth_date, sex)
        n = self._next.get(key)
        if n is None:
            n = int(self._rng.random() * 400)
        self._next[key] = n + 1
        seq = 2 * (n % 499) + (1 if sex == "M" else 2)
        first17 = f"{district_code}{birth_date:%Y%m%d}{seq:03d}"
        return first17 + id_check_char(first17)


class Command(BaseCommand):
    help = (
        "Create demo organisations, a login for every role and a synthetic population of minors with "
        "guardians (reproducible by --seed, written in chunks)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2023, help="random seed (default 2023)")
        parser.add_argument(
            "--minors", type=int, default=10000, help="minors to create (default 10000; 0: none)"
        )
        parser.add_argument("--chunk", type=int, default=20000, help="minors per transaction (default 20000)")
        parser.add_argument("--no-users", action="store_true", help="do not create demo users")
        parser.add_argument(
            "--password",
            default=None,
            help=f"password of the demo users (default in development: {DEMO_PASSWORD}); "
            "given explicitly it is also set on existing demo users",
        )

    def handle(self, *args, seed=2023, minors=10000, chunk=20000, no_users=False, password=None, **options):
        if minors < 0 or chunk < 1:
            raise CommandError("--minors must be >= 0 and --chunk >= 1")
        started = time.monotonic()
        today = timezone.localdate()
        with transaction.atomic():
            places = self._places()
            orgs, orgs_created = self._demo_organisations(places)
            users = [] if no_users else self._demo_users(places, orgs, password)
        counts = (
            self._population(seed, minors, chunk, today, places)
            if minors
            else {"minors": 0, "guardians": 0, "households": 0, "department_links": 0}
        )
        casework = {}
        if minors and any(u["created"] for u in users):  # the first run with users: reports, alerts, a case
            from weibao.ui.demo import seed_casework

            casework = seed_casework(places, today)
        seconds = round(time.monotonic() - started, 1)
        users_created = sum(1 for u in users if u["created"])
        record(
            None,
            AuditAction.CREATE,
            object_type="registry.person",
            object_repr="seed_demo",
            reason="seed_demo command",
            username="system:seed_demo",
            extra={
                **counts,
                "seed": seed,
                "chunk": chunk,
                "today": today.isoformat(),
                "seconds": seconds,
                "organisations_created": orgs_created,
                "users_created": users_created,
            },
        )
        self.stdout.write(f"demo organisations: {orgs_created} created")
        if minors:
            self.stdout.write(
                f"population: {counts['minors']} minors, {counts['guardians']} guardians in "
                f"{counts['households']} households, {counts['department_links']} department links "
                f"({seconds} s)"
            )
        if casework:
            self.stdout.write(
                "casework: {events} department events, {reports} mandatory reports, {alerts} alerts, "
                "{cases} case".format(**casework)
            )
        if users:
            self._report_users(users, password)

    # -- reference data and demo organisations --------------------------------------------------------

    def _places(self) -> dict:
        """The areas and standing organisations the demo hangs on (from the reference data migration)."""
        try:
            city = Area.objects.get(code=CITY)
            huangpu = Area.objects.get(code=HUANGPU)
            pudong = Area.objects.get(code=PUDONG)
        except Area.DoesNotExist:
            raise CommandError(
                "reference data missing: run `manage.py migrate` (accounts.0002_reference_data)"
            ) from None
        streets = Area.objects.filter(level=AreaLevel.STREET).exclude(kind=StreetKind.ZONE).order_by("code")
        huangpu_streets = list(streets.filter(parent=huangpu)[:2])
        pudong_street = streets.filter(parent=pudong).first()
        if len(huangpu_streets) < 2 or pudong_street is None:
            raise CommandError("reference data incomplete: streets of 黄浦区 and 浦东新区 are missing")

        def one(**lookup):
            found = Organisation.objects.filter(**lookup).order_by("pk").first()
            if found is None:
                raise CommandError(f"reference organisation missing: {lookup}")
            return found

        return {
            "city": city,
            "huangpu": huangpu,
            "street": huangpu_streets[0],
            "street_pd": pudong_street,
            "demo_streets": [*huangpu_streets, pudong_street],
            "committee_office": one(type__code="committee_office", area=city),
            "huangpu_office": one(type__code="district_office", area=huangpu),
            "workstation": one(type__code="workstation", area=huangpu_streets[0]),
            "workstation_pd": one(type__code="workstation", area=pudong_street),
            "edu": one(short_name="市教委", area=city),
            "police": one(type__code="police", area=huangpu),
            "procuratorate": one(type__code="procuratorate", area=huangpu),
            "court": one(type__code="court", area=huangpu),
        }

    def _demo_organisations(self, places) -> tuple[dict, int]:
        """School, kindergarten, hospital, residents' committee, hotel and employer in each demo street."""
        types = {
            t.code: t for t in OrganisationType.objects.filter(code__in={c for _, c, _ in DEMO_ORGANISATIONS})
        }
        missing = {c for _, c, _ in DEMO_ORGANISATIONS} - set(types)
        if missing:
            raise CommandError(f"organisation types missing: {', '.join(sorted(missing))}")
        first_street = places["street"]
        orgs, created = {}, 0
        for street in places["demo_streets"]:
            names = {"district": street.parent.name, "street": street.name, "stem": _stem(street.name)}
            for key, type_code, pattern in DEMO_ORGANISATIONS:
                org, was_created = Organisation.objects.get_or_create(
                    name=pattern.format(**names) + DEMO_MARK,
                    area=street,
                    defaults={"type": types[type_code], "short_name": pattern.format(**names)[:50]},
                )
                created += was_created
                if street == first_street:
                    orgs[key] = org
        return orgs, created

    # -- users ----------------------------------------------------------------------------------------

    def _demo_users(self, places, orgs, password) -> list[dict]:
        explicit = password is not None
        if not explicit and settings.DEV_MODE:
            password = DEMO_PASSWORD
        organisations = {**places, **orgs}
        areas = {
            "city": places["city"],
            "huangpu": places["huangpu"],
            "street": places["street"],
            "street_pd": places["street_pd"],
        }
        result = []
        for username, full_name, role, org_key, area_key, privileged in DEMO_USERS:
            organisation, area = organisations[org_key], areas[area_key]
            user = User.objects.filter(username=username).first()
            created = user is None
            if created:
                user = User(username=username, full_name=full_name)
            if password and (created or explicit):
                try:
                    validate_password(password, user)
                except ValidationError as exc:
                    raise CommandError(
                        f"--password rejected for {username}: {' '.join(exc.messages)}"
                    ) from None
                user.set_password(password)
            elif created:
                user.set_unusable_password()
            if created or explicit:
                user.save()
            assignment = RoleAssignment.objects.filter(
                user=user, role=role, organisation=organisation, area=area
            ).first()
            if assignment is None:
                assignment = RoleAssignment(
                    user=user,
                    role=role,
                    organisation=organisation,
                    area=area,
                    may_read_sensitive=privileged,
                    may_see_full_id=privileged,
                )
                try:
                    check_assignment(assignment)
                except ValidationError as exc:
                    raise CommandError(f"demo user {username}: {' '.join(exc.messages)}") from None
                assignment.save()
            result.append(
                {
                    "username": username,
                    "role": role,
                    "organisation": organisation,
                    "created": created,
                    "password": password if (created or explicit) else None,
                    "usable": user.has_usable_password(),
                }
            )
        return result

    def _report_users(self, users, password):
        created = sum(1 for u in users if u["created"])
        self.stdout.write(f"demo users: {created} created, {len(users) - created} already present")
        if settings.DEV_MODE:
            rows = [("username", "password", "role", "organisation")]
            for u in users:
                shown = u["password"] if u["password"] else ("(unchanged)" if u["usable"] else "(not set)")
                rows.append((u["username"], shown, str(Role(u["role"]).label), str(u["organisation"])))
            widths = [max(_width(row[i]) for row in rows) for i in range(3)]
            for row in rows:
                self.stdout.write(
                    "  ".join(_pad(cell, widths[i]) if i < 3 else cell for i, cell in enumerate(row))
                )
        elif password is not None:
            self.stdout.write("The demo users' passwords were set to the value of --password.")
        else:
            self.stdout.write(
                "Demo users were created without a usable password; set one for each with "
                "`manage.py changepassword <username>`."
            )
        totp = [u["username"] for u in users if u["role"] in SECOND_FACTOR_ROLES]
        self.stdout.write(
            f"These users must enrol a TOTP device (authenticator app) at first login: {', '.join(totp)}."
        )

    # -- population -----------------------------------------------------------------------------------

    def _population(self, seed, minors, chunk, today, places) -> dict:
        streets = list(
            Area.objects.filter(level=AreaLevel.STREET)
            .exclude(kind=StreetKind.ZONE)
            .order_by("code")
            .values_list("pk", "parent__code")
        )
        generator = PopulationGenerator(seed, today=today, streets=streets)
        link_rng = random.Random(seed * 1_000_003 + 17)  # its own stream: links never shift the population
        link_names = [name for name, _ in LINK_TARGETS]
        link_cum = list(accumulate(share for _, share in LINK_TARGETS))
        district_orgs = {
            (code, area_code): pk
            for code, area_code, pk in Organisation.objects.filter(
                type__code__in=["police", "procuratorate", "court"], area__level=AreaLevel.DISTRICT
            )
            .order_by("-pk")
            .values_list("type__code", "area__code", "pk")
        }
        edu_pk = places["edu"].pk
        sent = LinkBasis.SENT
        make = _person_factory()
        ids = IdNumbers(seed)
        normal, sensitive = Sensitivity.NORMAL, Sensitivity.SENSITIVE
        mainland = DocumentType.MAINLAND_ID

        done = guardians_total = households = links_total = 0
        chunk_no = 0
        started = time.monotonic()
        while done < minors:
            chunk_no += 1
            t0 = time.monotonic()
            target = min(chunk, minors - done)
            persons, linked = [], []  # linked: (index into persons, organisation pk)
            homes, numbers, wards = (
                [],
                [],
                [],
            )  # Household rows; ID number per person; (minor, guardian) indexes
            n_minors = n_guardians = 0
            with cycles_paused():  # tens of thousands of acyclic objects (lib/memory.py)
                while n_minors < target:
                    household = generator.household()
                    kids = household.minors[
                        : minors - done - n_minors
                    ]  # only the run's last household is cut
                    households += 1
                    street_id, district = household.street, household.district_code
                    home = Household(street_id=street_id)
                    homes.append(home)
                    first_guardian = len(persons)
                    for m in household.guardians:
                        persons.append(make(m.name, m.sex, m.birth_date, street_id, normal, "adult", home))
                        numbers.append(ids(district, m.birth_date, m.sex))
                    n_guardians += len(household.guardians)
                    for m in kids:
                        if link_rng.random() < LINK_SHARE:
                            target_name = link_names[bisect_right(link_cum, link_rng.random() * link_cum[-1])]
                            org_pk = (
                                edu_pk
                                if target_name == "edu"
                                else district_orgs.get((target_name, district), edu_pk)
                            )
                            linked.append((len(persons), org_pk))
                        wards.extend(
                            (len(persons), g)
                            for g in range(first_guardian, first_guardian + len(household.guardians))
                        )
                        persons.append(
                            make(
                                m.name,
                                m.sex,
                                m.birth_date,
                                street_id,
                                sensitive if m.sensitive else normal,
                                "minor",
                                home,
                            )
                        )
                        numbers.append(ids(district, m.birth_date, m.sex))
                    n_minors += len(kids)
            t1 = time.monotonic()
            with transaction.atomic():
                _insert(Household, homes)
                for p in persons:
                    p.household_id = p.household.pk
                _insert(Person, persons)
                if persons[0].pk is None:  # a backend that does not return keys
                    self._fetch_pks(persons)
                _insert(
                    IdentityDocument,
                    [
                        IdentityDocument(person_id=p.pk, is_valid=True, **document_fields(mainland, number))
                        for p, number in zip(persons, numbers, strict=True)
                    ],
                )
                _insert(
                    Guardianship,
                    [
                        Guardianship(
                            minor_id=persons[m].pk,
                            guardian_id=persons[g].pk,
                            relation=GuardianRelation.FATHER
                            if persons[g].sex == "M"
                            else GuardianRelation.MOTHER,
                            since=persons[m].birth_date,
                        )
                        for m, g in wards
                    ],
                )
                _insert(
                    DepartmentLink,
                    [
                        DepartmentLink(person_id=persons[i].pk, organisation_id=org_pk, basis=sent)
                        for i, org_pk in linked
                    ],
                )
            t2 = time.monotonic()
            reset_queries()  # DEBUG keeps every statement otherwise
            rows = len(persons) + len(linked)
            done += n_minors
            guardians_total += n_guardians
            links_total += len(linked)
            self.stdout.write(
                f"chunk {chunk_no}: {n_minors} minors + {n_guardians} guardians + {len(linked)} links; "
                f"generated {(t1 - t0) / len(persons) * 1e6:.1f} µs/row, {rows / (t2 - t0):,.0f} rows/s; "
                f"{done}/{minors} minors, {time.monotonic() - started:.1f} s{_peak_rss()}"
            )
            del persons, linked, homes, numbers, wards
        return {
            "minors": done,
            "guardians": guardians_total,
            "households": households,
            "department_links": links_total,
        }

    @staticmethod
    def _fetch_pks(persons):
        by_uuid = {p.uuid: p for p in persons}
        uuids = list(by_uuid)
        for start in range(0, len(uuids), 1000):
            for key, pk in Person.objects.filter(uuid__in=uuids[start : start + 1000]).values_list(
                "uuid", "pk"
            ):
                by_uuid[key].pk = pk
