"""Signing in through the login page in the browser tests, TOTP included (one place for every flow).

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
