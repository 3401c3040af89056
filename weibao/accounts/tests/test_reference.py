"""The Shanghai reference data loaded by migration 0002 (and the load_reference_data command)."""

import io

import pytest
from django.core.management import call_command

from weibao.accounts.choices import AreaLevel, StreetKind
from weibao.accounts.models import Area, Organisation, OrganisationType
from weibao.accounts.reference import load_reference_data, read_csv

DISTRICTS = {
    "310101": "黄浦区",
    "310104": "徐汇区",
    "310105": "长宁区",
    "310106": "静安区",
    "310107": "普陀区",
    "310109": "虹口区",
    "310110": "杨浦区",
    "310112": "闵行区",
    "310113": "宝山区",
    "310114": "嘉定区",
    "310115": "浦东新区",
    "310116": "金山区",
    "310117": "松江区",
    "310118": "青浦区",
    "310120": "奉贤区",
    "310151": "崇明区",
}

# Every unit in the 责任单位 lists of the 2023 Shanghai work plan (沪未保办〔2023〕1号).
WORK_PLAN_UNITS = {
    "市教委",
    "市妇儿工委办",
    "市民政局",
    "市司法局",
    "市公安局",
    "市高院",
    "市检察院",
    "市应急局",
    "团市委",
    "市残联",
    "市总工会",
    "市关工委",
    "市委网信办",
    "市委宣传部",
    "市未保办",
    "市委政法委",
    "市卫生健康委",
    "市财政局",
    "市农业农村委",
    "市体育局",
    "市科委",
    "市文旅局",
    "市市场监管局",
}


def _snapshot():
    return (
        sorted(Area.objects.values_list("code", "name", "level", "kind", "parent__code")),
        sorted(
            OrganisationType.objects.values_list("code", "name", "is_mandated_reporter", "is_member_unit")
        ),
        sorted(
            Organisation.objects.values_list(
                "name", "area__code", "type__code", "parent__name", "coordinates", "updated"
            )
        ),
    )


@pytest.mark.django_db
def test_city_and_sixteen_districts():
    city = Area.objects.get(level=AreaLevel.CITY)
    assert (city.code, city.name, city.parent) == ("310000", "上海市", None)
    districts = Area.objects.filter(level=AreaLevel.DISTRICT)
    assert dict(districts.values_list("code", "name")) == DISTRICTS
    assert set(districts.values_list("parent__code", flat=True)) == {"310000"}


@pytest.mark.django_db
def test_street_kinds_match_official_counts():
    streets = Area.objects.filter(level=AreaLevel.STREET)
    assert streets.filter(kind=StreetKind.SUBDISTRICT).count() == 107
    assert streets.filter(kind=StreetKind.TOWN).count() == 106
    assert streets.filter(kind=StreetKind.TOWNSHIP).count() == 2
    assert streets.exclude(kind__in=StreetKind.values).count() == 0
    assert streets.filter(kind=StreetKind.ZONE).exists()
    assert set(streets.filter(kind=StreetKind.TOWNSHIP).values_list("name", flat=True)) == {
        "新村乡",
        "横沙乡",
    }


@pytest.mark.django_db
def test_every_street_sits_in_a_district_with_a_matching_code():
    for street in Area.objects.filter(level=AreaLevel.STREET).select_related("parent"):
        assert street.parent is not None and street.parent.level == AreaLevel.DISTRICT, street
        assert len(street.code) == 9 and street.code.isdigit(), street
        assert street.code.startswith(street.parent.code), street


@pytest.mark.django_db
def test_one_workstation_per_street_and_none_for_zones():
    streets = Area.objects.filter(level=AreaLevel.STREET)
    workstations = Organisation.objects.filter(type__code="workstation").select_related(
        "area", "parent__type"
    )
    assert workstations.count() == streets.exclude(kind=StreetKind.ZONE).count() == 215
    by_area = {w.area_id: w for w in workstations}
    assert len(by_area) == 215
    for street in streets:
        if street.kind == StreetKind.ZONE:
            assert street.pk not in by_area
            continue
        workstation = by_area[street.pk]
        assert workstation.name == f"{street.name}未成年人保护工作站"
        assert workstation.parent.type.code == "district_office"
        assert workstation.parent.area_id == street.parent_id


@pytest.mark.django_db
def test_district_offices_and_counterparts():
    city_office = Organisation.objects.get(type__code="committee_office", area__level=AreaLevel.CITY)
    assert city_office.name == "上海市未成年人保护委员会办公室"
    offices = Organisation.objects.filter(type__code="district_office")
    assert offices.count() == 16
    assert set(offices.values_list("parent", flat=True)) == {city_office.pk}
    assert Organisation.objects.get(name="黄浦区未成年人保护委员会办公室").area.code == "310101"
    court = Organisation.objects.get(name="上海市浦东新区人民法院")
    assert (court.type.code, court.area.code, court.parent.short_name) == ("court", "310115", "市高院")
    police = Organisation.objects.get(name="上海市公安局浦东分局")
    assert (police.type.code, police.parent.short_name) == ("police", "市公安局")
    assert Organisation.objects.get(name="上海市黄浦区人民检察院").type.code == "procuratorate"
    for code in ("police", "procuratorate", "court"):
        assert Organisation.objects.filter(type__code=code, area__level=AreaLevel.DISTRICT).count() == 16


@pytest.mark.django_db
def test_work_plan_member_units_are_present():
    city_units = Organisation.objects.filter(area__level=AreaLevel.CITY)
    assert WORK_PLAN_UNITS <= set(city_units.values_list("short_name", flat=True))
    assert {r["short_name"] for r in read_csv("member_units.csv")} == WORK_PLAN_UNITS
    assert city_units.get(short_name="市公安局").type.code == "police"
    assert city_units.get(short_name="市检察院").type.code == "procuratorate"
    assert city_units.get(short_name="市高院").type.code == "court"
    assert city_units.get(short_name="市教委").name == "上海市教育委员会"
    assert city_units.get(short_name="市未保办").type.code == "committee_office"


@pytest.mark.django_db
def test_exactly_one_coordinating_body_at_city_level():
    coordinating = Organisation.objects.filter(coordinates=True, area__level=AreaLevel.CITY)
    assert list(coordinating.values_list("short_name", flat=True)) == ["市妇儿工委办"]
    # each district has its own coordinating body (the district women-and-children working committee office)
    per_district = Organisation.objects.filter(coordinates=True, area__level=AreaLevel.DISTRICT)
    assert sorted(per_district.values_list("area__code", flat=True)) == sorted(DISTRICTS)


@pytest.mark.django_db
def test_organisation_types():
    types = {t.code: t for t in OrganisationType.objects.all()}
    assert len(types) == 16
    assert types["school"].is_mandated_reporter and not types["school"].is_member_unit
    assert types["police"].is_member_unit and not types["police"].is_mandated_reporter
    assert {c for c, t in types.items() if t.is_mandated_reporter} == {
        "school",
        "kindergarten",
        "hospital",
        "residents_committee",
        "training_institution",
        "welfare_institution",
        "hotel",
    }


@pytest.mark.django_db
def test_loader_is_idempotent():
    before = _snapshot()
    counts = load_reference_data()
    assert _snapshot() == before
    assert counts["areas"] == Area.objects.count() == 1 + 16 + counts["streets"]
    assert counts["workstations"] == 215
    assert counts["organisation_types"] == OrganisationType.objects.count()
    assert counts["organisations"] == Organisation.objects.count()
    assert {k: v for k, v in counts.items() if k.endswith(("_created", "_updated")) and v} == {}
    assert load_reference_data() == counts


@pytest.mark.django_db
def test_loader_restores_edits_and_missing_rows():
    Organisation.objects.filter(name="徐家汇街道未成年人保护工作站").delete()
    Area.objects.filter(code="310101").update(name="错误")
    counts = load_reference_data()
    assert counts["organisations_created"] == 1 and counts["areas_updated"] == 1
    assert Area.objects.get(code="310101").name == "黄浦区"
    assert Organisation.objects.filter(name="徐家汇街道未成年人保护工作站", area__code="310104014").exists()


@pytest.mark.django_db
def test_command_prints_counts():
    out = io.StringIO()
    call_command("load_reference_data", stdout=out)
    assert "areas: 251 (0 created, 0 updated)" in out.getvalue()
    assert "workstations: 215" in out.getvalue()
