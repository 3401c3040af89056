"""Shanghai reference data every database gets: areas, organisation types, offices, member units, workstations.

The rows come from the CSV files in ``data/`` (sources in ``data/README.md``). :func:`load_reference_data`
runs inside migration ``0002_reference_data`` with the historical app registry, and again from the
``load_reference_data`` command. It is idempotent: areas are matched by code, types by code, organisations
by name + area; missing rows are created, rows whose reference fields differ are updated, in bulk.
"""

import csv
from pathlib import Path

from django.db import transaction
from django.utils import timezone

DATA_DIR = Path(__file__).resolve().parent / "data"

CITY_LEVEL, DISTRICT_LEVEL, STREET_LEVEL = "city", "district", "street"
ZONE = "zone"

COMMITTEE_OFFICE, DISTRICT_OFFICE, WORKSTATION = "committee_office", "district_office", "workstation"

# District counterparts of city member units: (short name of the city unit, type code, name, short name,
# coordinates). ``{district}`` is the district's name (黄浦区), ``{stem}`` the name without 区/新区 (黄浦, 浦东).
# Police sub-bureaus are named after the city bureau (上海市公安局黄浦分局); courts and procuratorates
# carry the city's name (上海市黄浦区人民法院). The district women-and-children working committee office
# coordinates minor protection in its district, as 市妇儿工委办 does for the city.
DISTRICT_COUNTERPARTS = [
    ("市妇儿工委办", "member_unit", "上海市{district}妇女儿童工作委员会办公室", "{district}妇儿工委办", True),
    ("市公安局", "police", "上海市公安局{stem}分局", "{stem}公安分局", False),
    ("市检察院", "procuratorate", "上海市{district}人民检察院", "{district}检察院", False),
    ("市高院", "court", "上海市{district}人民法院", "{district}法院", False),
    ("市教委", "member_unit", "上海市{district}教育局", "{district}教育局", False),
    ("市民政局", "member_unit", "上海市{district}民政局", "{district}民政局", False),
    ("市卫生健康委", "member_unit", "上海市{district}卫生健康委员会", "{district}卫生健康委", False),
    ("市司法局", "member_unit", "上海市{district}司法局", "{district}司法局", False),
]


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "y"}


def _stem(district_name: str) -> str:
    for suffix in ("新区", "区"):
        if district_name.endswith(suffix):
            return district_name[: -len(suffix)]
    return district_name


class _Sync:
    """Create-or-update rows of one model in bulk, keyed by some of their fields; keeps counts."""

    def __init__(self, model, using: str, counts: dict[str, int], label: str, *, touch_updated: bool = False):
        self.manager = model._default_manager.db_manager(using)
        self.model = model
        self.counts = counts
        self.label = label
        self.touch_updated = touch_updated
        for suffix in ("", "_created", "_updated"):
            counts.setdefault(label + suffix, 0)

    def __call__(self, key_fields: tuple[str, ...], rows: list[dict], lookup: dict) -> dict[tuple, object]:
        """Make ``rows`` (field → value, foreign keys as ``*_id``) exist; return them by key.

        ``lookup`` narrows the query for existing rows (e.g. ``{"code__in": [...]}``).
        """
        if not rows:
            return {}

        def key_of(item):
            if isinstance(item, dict):
                return tuple(item[k] for k in key_fields)
            return tuple(getattr(item, k) for k in key_fields)

        existing = {key_of(obj): obj for obj in self.manager.filter(**lookup)}
        fields = [f for f in rows[0] if f not in key_fields]
        to_create, to_update = [], []
        now = timezone.now()
        for row in rows:
            obj = existing.get(key_of(row))
            if obj is None:
                to_create.append(self.model(**row))
                continue
            changed = [f for f in fields if getattr(obj, f) != row[f]]
            if changed:
                for f in fields:
                    setattr(obj, f, row[f])
                if self.touch_updated:
                    obj.updated = now
                to_update.append(obj)
        if to_create:
            self.manager.bulk_create(to_create, batch_size=500)
        if to_update:
            self.manager.bulk_update(
                to_update, fields + (["updated"] if self.touch_updated else []), batch_size=500
            )
        self.counts[self.label] += len(rows)
        self.counts[self.label + "_created"] += len(to_create)
        self.counts[self.label + "_updated"] += len(to_update)
        if to_create:  # read back so every row has its primary key, whatever the database backend
            existing = {key_of(obj): obj for obj in self.manager.filter(**lookup)}
        return {key_of(row): existing[key_of(row)] for row in rows}


def load_reference_data(apps=None, using: str = "default") -> dict[str, int]:
    """Load areas, organisation types and the standing organisations; return counts.

    ``apps`` is the historical registry when called from a migration; without it the real models are used.
    Counts: ``areas``, ``organisation_types``, ``organisations`` (rows in the reference data) and for each
    ``*_created`` / ``*_updated``; plus ``streets``, ``zones``, ``workstations``.
    """
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    Area = apps.get_model("accounts", "Area")
    OrganisationType = apps.get_model("accounts", "OrganisationType")
    Organisation = apps.get_model("accounts", "Organisation")

    area_rows = read_csv("areas.csv")
    type_rows = read_csv("organisation_types.csv")
    unit_rows = read_csv("member_units.csv")
    counts: dict[str, int] = {}

    with transaction.atomic(using=using):
        # Areas, one level at a time so that parents exist first.
        sync_areas = _Sync(Area, using, counts, "areas")
        areas: dict[str, object] = {}
        for level in (CITY_LEVEL, DISTRICT_LEVEL, STREET_LEVEL):
            rows = []
            for r in area_rows:
                if r["level"] != level:
                    continue
                parent = areas.get(r["parent_code"]) if r["parent_code"] else None
                if r["parent_code"] and parent is None:
                    raise ValueError(f"areas.csv: {r['code']} {r['name']}: unknown parent {r['parent_code']}")
                rows.append(
                    {
                        "code": r["code"],
                        "name": r["name"],
                        "level": level,
                        "kind": r["kind"],
                        "parent_id": parent.pk if parent else None,
                    }
                )
            done = sync_areas(("code",), rows, {"code__in": [row["code"] for row in rows]})
            areas.update({code: obj for (code,), obj in done.items()})
        city = next(a for a in areas.values() if a.level == CITY_LEVEL)
        districts = sorted((a for a in areas.values() if a.level == DISTRICT_LEVEL), key=lambda a: a.code)
        streets = sorted((a for a in areas.values() if a.level == STREET_LEVEL), key=lambda a: a.code)

        # Organisation types.
        rows = [
            {
                "code": r["code"],
                "name": r["name"],
                "name_en": r["name_en"],
                "is_mandated_reporter": _flag(r["is_mandated_reporter"]),
                "is_member_unit": _flag(r["is_member_unit"]),
                "sort_order": int(r["sort_order"]),
            }
            for r in type_rows
        ]
        types = {
            code: obj
            for (code,), obj in _Sync(OrganisationType, using, counts, "organisation_types")(
                ("code",), rows, {"code__in": [row["code"] for row in rows]}
            ).items()
        }

        def type_id(code):
            if code not in types:
                raise ValueError(f"unknown organisation type {code!r}")
            return types[code].pk

        sync_orgs = _Sync(Organisation, using, counts, "organisations", touch_updated=True)

        def orgs(rows):
            found = sync_orgs(("name", "area_id"), rows, {"name__in": [row["name"] for row in rows]})
            return {name: obj for (name, _area), obj in found.items()}

        # City: the committee office and the member units (their parent is left to the administrator).
        city_units = orgs(
            [
                {
                    "name": r["name"],
                    "area_id": city.pk,
                    "short_name": r["short_name"],
                    "type_id": type_id(r["type_code"]),
                    "coordinates": _flag(r["coordinates"]),
                }
                for r in unit_rows
            ]
        )
        by_short = {r["short_name"]: city_units[r["name"]] for r in unit_rows}
        city_office = next(city_units[r["name"]] for r in unit_rows if r["type_code"] == COMMITTEE_OFFICE)

        # Districts: an office under the city office, and counterparts of the city member units.
        rows = []
        for district in districts:
            rows.append(
                {
                    "name": f"{district.name}未成年人保护委员会办公室",
                    "area_id": district.pk,
                    "short_name": f"{district.name}未保办",
                    "type_id": type_id(DISTRICT_OFFICE),
                    "parent_id": city_office.pk,
                    "coordinates": False,
                }
            )
            names = {"district": district.name, "stem": _stem(district.name)}
            for city_short, type_code, name, short_name, coordinates in DISTRICT_COUNTERPARTS:
                rows.append(
                    {
                        "name": name.format(**names),
                        "area_id": district.pk,
                        "short_name": short_name.format(**names),
                        "type_id": type_id(type_code),
                        "parent_id": by_short[city_short].pk,
                        "coordinates": coordinates,
                    }
                )
        district_orgs = orgs(rows)
        offices = {
            district.pk: district_orgs[f"{district.name}未成年人保护委员会办公室"] for district in districts
        }

        # Streets and towns (not zones): one workstation each, under its district office.
        rows = [
            {
                "name": f"{street.name}未成年人保护工作站",
                "area_id": street.pk,
                "short_name": f"{street.name}工作站",
                "type_id": type_id(WORKSTATION),
                "parent_id": offices[street.parent_id].pk,
                "coordinates": False,
            }
            for street in streets
            if street.kind != ZONE
        ]
        orgs(rows)

    counts["streets"] = len(streets)
    counts["zones"] = sum(1 for street in streets if street.kind == ZONE)
    counts["workstations"] = len(rows)
    return counts
