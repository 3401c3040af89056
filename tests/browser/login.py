"""Signing in through the login page in the browser tests, TOTP included (one place for every flow), and
pages opened in a context of their own (desktop or phone) and photographed.

``SECRETS`` is shared by every flow of the session: whichever logs a user in first enrols the TOTP device
(as an authenticator app would, reading the secret from the enrolment page); later ones type its code.
"""

import base64
import time

from django_otp.oath import TOTP

from weibao.lib.testing import PASSWORD


def sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


SECRETS: dict[str, tuple[bytes, int]] = {}  # username → (TOTP secret, time step last used)


def second_factor(page, username):
    """Enrol on first login (reading the secret like an authenticator app), else type the current code."""
    if "/accounts/otp/setup/" in page.url:
        secret = base64.b32decode(page.locator("#otp-secret").inner_text().strip())
    else:
        assert "/accounts/otp/verify/" in page.url, page.url
        secret, last_step = SECRETS[username]
        while TOTP(secret).t() <= last_step:  # a code is accepted once: wait for the next one
            time.sleep(1)
    totp = TOTP(secret)
    page.fill("input[name=token]", f"{totp.token():06d}")
    SECRETS[username] = (secret, totp.t())
    page.click("button[type=submit]")


def open_page(browser, server, username=None, *, phone=False, **options):
    """A page in a new context (a desktop screen, or a phone with ``phone``), signed in as ``username`` and on
    the dashboard — or anonymous with no ``username``. ``options`` go to ``new_context``."""
    viewport = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}
    context = browser.new_context(
        locale="zh-CN", viewport=viewport, is_mobile=phone, has_touch=phone, **options
    )
    page = context.new_page()
    if username:
        sign_in(page, server, username)
        if "/accounts/otp/" in page.url:  # mandated reporters sign in with a password only
            second_factor(page, username)
        page.wait_for_url(f"{server}/")
    return page


def shot(page, name, *, full_page=True):
    """A screenshot for people to look at, under ``SCREENSHOTS`` as ``name.png``."""
    from .conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
