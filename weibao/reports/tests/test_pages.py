from django.conf import settings
from django.test import Client

from weibao.lib.testing import verify_second_factor
from weibao.reports.testing import make_report


def _client(world, persona, language="zh-hans"):
    client = Client()
    verify_second_factor(client, world.users[persona])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_pages_render_in_english_from_the_apps_catalogue(world):
    report = make_report(world)
    police = _client(world, "police_a", "en")
    html = police.get(f"/reports/{report.uuid}/").content.decode()
    assert "Routing and deadlines" in html and "Multiple injuries" in html and "Accept" in html
    assert "Mandatory reports" in police.get("/reports/").content.decode()
    assert "File a mandatory report" in _client(world, "reporter", "en").get("/reports/new/").content.decode()
    assert (
        "Bodies in contact with minors"
        in _client(world, "city", "en").get("/reports/figures/").content.decode()
    )
    public = Client()
    public.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "Report harm to a child" in public.get("/reports/public/").content.decode()


def test_the_list_filters_by_status_and_flags_overdue_and_duplicates(world):
    import datetime

    import time_machine

    t0 = datetime.datetime(2027, 3, 2, 4, 0, tzinfo=datetime.UTC)
    with time_machine.travel(t0, tick=False):
        first = make_report(world)
        second = make_report(world)
    with time_machine.travel(t0 + datetime.timedelta(hours=30), tick=False):
        html = _client(world, "district_a").get("/reports/").content.decode()
        assert "超时" in html and "疑似重复" in html
        filtered = _client(world, "district_a").get("/reports/", {"status": "closed"}).content.decode()
        assert first.number not in filtered and second.number not in filtered
        opened = _client(world, "district_a").get("/reports/", {"status": "open"}).content.decode()
        assert first.number in opened and second.number in opened
