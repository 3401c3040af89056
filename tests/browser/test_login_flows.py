"""Main flows in a real browser: three roles log in with a TOTP code and land on their own home page.

The TOTP code is computed from the secret shown on the enrolment page, as an authenticator app would.
"""

import pytest

from .login import SECRETS, second_factor, sign_in

pytestmark = pytest.mark.browser


def test_anonymous_visitor_gets_the_login_page(server, page, shoot):
    page.goto(f"{server}/registry/persons/")
    assert "/accounts/login/" in page.url
    assert page.locator("h2", has_text="账户登录").is_visible()
    shoot("01-login")


@pytest.mark.parametrize(
    "username,role_badge,nav_item,card",
    [
        ("worker_b1", "街镇工作站社工", "未成年人", "未成年人（辖区内）"),
        ("city", "市未保办工作人员", "未成年人", "敏感记录"),
        ("auditor", "审计管理员", "审计日志", "24小时内登录失败"),
    ],
)
def test_role_logs_in_with_totp_and_sees_its_home(server, page, shoot, username, role_badge, nav_item, card):
    sign_in(page, server, username)
    if username not in SECRETS:  # first login: enrol a TOTP device (other flows of the session may have)
        assert "/accounts/otp/setup/" in page.url
        shoot(f"02-otp-setup-{username}")
    second_factor(page, username)
    page.wait_for_url(f"{server}/")
    assert page.locator(".badge", has_text=role_badge).first.is_visible()
    assert page.locator(".wb-nav").get_by_text(nav_item).is_visible()
    assert page.locator(".subheader", has_text=card).is_visible()
    shoot(f"03-home-{username}")


def test_wrong_password_stays_on_login_with_an_error(server, page):
    page.goto(f"{server}/accounts/login/")
    page.fill("input[name=username]", "reporter")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "/accounts/login/" in page.url
    assert page.locator(".alert-danger").is_visible()


def test_main_pages_render_for_their_users(server, page, shoot):
    """Visit the main pages as their users; the screenshots are kept for review."""
    for username, paths in [
        (
            "lead_a1",
            ["/registry/persons/", "/registry/persons/add/", "/accounts/organisations/", "/accounts/tokens/"],
        ),
        ("sysadmin", ["/accounts/users/", "/accounts/organisations/add/", "/accounts/organisations/import/"]),
        ("secadmin", ["/accounts/users/"]),
        ("auditor", ["/audit/"]),
    ]:
        page.context.clear_cookies()
        sign_in(page, server, username)
        second_factor(page, username)
        page.wait_for_url(f"{server}/")
        for path in paths:
            response = page.goto(f"{server}{path}")
            assert response.status == 200, path
            shoot(f"10-{username}-{path.strip('/').replace('/', '-')}")
        if username == "lead_a1":
            page.goto(f"{server}/registry/persons/")
            page.locator("#person-list a").first.click()
            assert page.locator("h2.page-title").is_visible()
            shoot("11-lead_a1-person-detail")
        if username == "secadmin":
            page.get_by_role("link", name="worker_a1").click()
            shoot("11-secadmin-user-detail")
        if username == "auditor":
            page.locator("#audit-events a").first.click()
            shoot("11-auditor-event-detail")
    page.goto(f"{server}/no/such/page/")
    shoot("90-404")


def test_organisation_search_updates_as_you_type(server, page, shoot):
    sign_in(page, server, "sysadmin")
    second_factor(page, "sysadmin")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/accounts/organisations/")
    page.fill("input[name=q]", "北外滩")
    page.wait_for_url("**q=%E5%8C%97%E5%A4%96%E6%BB%A9**")  # htmx pushed the query into the address bar
    rows = page.locator("#org-results tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1 and "北外滩街道未成年人保护工作站" in rows.first.inner_text()
    shoot("12-sysadmin-organisation-search")


def test_review_queue_decides_with_the_keyboard(server, page, shoot):
    sign_in(page, server, "lead_a1")
    second_factor(page, "lead_a1")
    page.wait_for_url(f"{server}/")
    page.locator(".wb-nav").get_by_text("匹配复核").click()
    assert page.locator("#match-probability").inner_text() == "0.870"
    assert page.locator("#review-pair").get_by_text("陈思远").is_visible()
    assert page.locator("#review-pair").get_by_text("陈思源").is_visible()
    shoot("20-lead_a1-review-queue")
    with page.expect_navigation():
        page.keyboard.press("s")  # "same child"
    assert page.locator(".alert-success").get_by_text("同一人").is_visible()
    assert page.get_by_text("没有待复核的匹配").is_visible()
    page.goto(f"{server}/registry/persons/?q=chensiyuan")
    assert page.locator("#person-list tbody tr").count() == 1  # the two records are one child now
