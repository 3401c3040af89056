"""The 统计 nav entry: a district office reaches both statistics pages from it; a teacher sees no entry;
the city office's nav (the longest) still shows it in English."""

import pytest

from .login import open_page, shot

pytestmark = pytest.mark.browser


def test_statistics_entry_leads_to_the_pages_the_user_may_open(server, browser):
    office = open_page(browser, server, "district_a")
    nav = office.locator(".wb-nav")
    nav.get_by_role("link", name="统计").click()
    office.wait_for_url("**/statistics/")
    assert nav.locator(".nav-item.active").inner_text().strip() == "统计"
    pages = office.locator("[data-testid=statistics-page]")
    assert pages.count() == 2
    shot(office, "70-statistics-index")
    pages.filter(has_text="强制报告统计").click()
    office.wait_for_url("**/reports/figures/")
    office.context.close()

    teacher = open_page(browser, server, "reporter")
    assert teacher.locator(".wb-nav").get_by_role("link", name="统计").count() == 0
    teacher.context.close()


def test_city_office_nav_in_english_keeps_the_entry_visible(server, browser):
    """The longest nav (city office, English labels) still shows the entry, and fits a 1366-pixel screen."""
    city = open_page(browser, server, "city")
    city.get_by_role("button", name="English").click()
    city.wait_for_load_state()
    entry = city.locator(".wb-nav").get_by_role("link", name="Statistics")
    assert entry.is_visible()
    assert city.evaluate("document.documentElement.scrollWidth") <= 1366  # no sideways scrolling
    shot(city, "71-nav-city-english")
    city.context.close()
