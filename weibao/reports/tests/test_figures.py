import datetime

import time_machine
from django.test import Client

from weibao.lib.testing import A1, B1, org, verify_second_factor
from weibao.reports import figures, services
from weibao.reports.models import Report
from weibao.reports.testing import make_report

T0 = datetime.datetime(2027, 3, 2, 4, 0, tzinfo=datetime.UTC)


def test_figures_per_type_and_district_with_median_and_share_in_time(world):
    police = world.users["police_a"]
    with time_machine.travel(T0, tick=False):
        fast = make_report(world)
        slow = make_report(world, minor_name="李四")
        make_report(world, minor_name="王五")  # not decided yet
        make_report(world, by=None, street=B1, minor_name="赵六")  # public, district B
    with time_machine.travel(T0 + datetime.timedelta(hours=2), tick=False):
        services.decide(fast, actor=police, decision="not_opened", note="查无侵害")
    with time_machine.travel(T0 + datetime.timedelta(hours=200), tick=False):
        services.decide(slow, actor=police, decision="transferred")
    table = figures.by_type_and_district(Report.objects.all())
    school = next(r for r in table if r["type"] == "学校")
    assert (school["district"], school["filed"], school["decided"]) == ("黄浦区", 3, 2)
    assert school["median_hours"] == 101.0  # (2 + 200) / 2
    assert school["in_time_share"] == 50  # 2 h is within 24 + 72 h, 200 h is not
    public = next(r for r in table if r["type"] == "公众网页")
    assert (public["district"], public["filed"], public["decided"], public["median_hours"]) == (
        "浦东新区",
        1,
        0,
        None,
    )


def test_bodies_that_never_reported_are_listed_for_the_district(world):
    silent_a = org("kindergarten", A1, "从未报告的幼儿园")
    silent_b = org("hotel", B1, "浦东某宾馆")
    inactive = org("hospital", A1, "已停业诊所")
    inactive.is_active = False
    inactive.save()
    make_report(world)  # the persona's school has reported
    school = world.users["reporter"].active_assignments()[0].organisation
    district = figures.silent_bodies(world.users["district_a"])
    assert (
        silent_a in district
        and silent_b not in district
        and school not in district
        and inactive not in district
    )
    assert all(o.type.is_mandated_reporter for o in district)
    assert silent_b in figures.silent_bodies(world.users["city"])
    client = Client()
    verify_second_factor(client, world.users["district_a"])
    html = client.get("/reports/figures/").content.decode()
    assert "从未报告的幼儿园" in html and "浦东某宾馆" not in html
    for persona in ("police_a", "worker_a1", "reporter", "sysadmin"):
        client = Client()
        verify_second_factor(client, world.users[persona])
        assert client.get("/reports/figures/").status_code == 403


def test_home_page_counts_open_reports_for_those_who_see_them(world):
    make_report(world)
    for persona, shown in [("police_a", True), ("reporter", True), ("worker_b1", True), ("sysadmin", False)]:
        client = Client()
        verify_second_factor(client, world.users[persona])
        html = client.get("/").content.decode()
        assert ("未办结的强制报告" in html) is shown, persona


def test_figures_count_sensitive_reports_that_the_office_may_not_open(world):
    from weibao.accounts import access
    from weibao.reports.choices import Situation

    make_report(world)
    hidden = make_report(world, minor_name="李四", situation=Situation.UNDER14_SEXUAL)
    office = world.users["district_a"]
    assert not any(a.may_read_sensitive for a in office.active_assignments())
    assert hidden not in Report.objects.visible_to(office)  # the record stays closed to this office …
    counted = Report.objects.visible_to(office, access.COUNT)
    assert hidden in counted and counted.count() == 2  # … but its figures count it
    for persona in ("police_a", "worker_a1", "reporter", "sysadmin"):
        assert not Report.objects.visible_to(world.users[persona], access.COUNT).exists()
    client = Client()
    verify_second_factor(client, office)
    response = client.get("/reports/figures/")
    assert response.context["total"] == 2
    assert sum(row["filed"] for row in response.context["table"]) == 2
