"""Login, lockout, the TOTP second factor and the idle timeout."""

import pytest
from django.conf import settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from weibao.audit.models import AuditEvent
from weibao.lib.testing import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username, password=PASSWORD):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def _code(device):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_login_and_failure_are_audited(client, world):
    assert _login(client, "reporter", "wrong").status_code == 200
    assert AuditEvent.objects.filter(action="login_failed", actor_username="reporter").exists()
    assert _login(client, "reporter").status_code == 302
    assert AuditEvent.objects.filter(action="login", actor_id=world.users["reporter"].pk).exists()
    client.post(reverse("accounts:logout"))
    assert AuditEvent.objects.filter(action="logout", actor_id=world.users["reporter"].pk).exists()


def test_wrong_password_shows_a_clear_error(client, world):
    response = _login(client, "reporter", "wrong")
    assert "请输入一个正确的" in response.content.decode()


def test_five_failures_lock_the_account(client, world):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "reporter", "wrong")
    response = _login(client, "reporter")  # even the right password is refused now
    assert response.status_code == 429
    assert "账户已锁定" in response.content.decode()
    assert AuditEvent.objects.filter(action="locked_out", actor_username="reporter").exists()


def test_security_admin_unlocks_with_a_reason(client, world):
    from weibao.lib.testing import verify_second_factor

    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "reporter", "wrong")
    admin = client.__class__()
    verify_second_factor(admin, world.users["secadmin"])
    reporter = world.users["reporter"]
    page = admin.get(reverse("accounts:user_detail", args=[reporter.uuid])).content.decode()
    assert "已被锁定" in page
    admin.post(reverse("accounts:user_unlock", args=[reporter.uuid]), {"reason": ""})
    assert _login(client, "reporter").status_code == 429  # no reason, no unlock
    admin.post(reverse("accounts:user_unlock", args=[reporter.uuid]), {"reason": "本人来电确认"})
    assert _login(client, "reporter").status_code == 302
    assert AuditEvent.objects.filter(action="unlock", reason="本人来电确认").exists()


def test_person_role_enrols_and_then_verifies_totp(client, world):
    assert _login(client, "worker_a1").status_code == 302
    home = client.get(reverse("ui:home"))
    assert home.status_code == 302 and home["Location"].startswith(reverse("accounts:otp_setup"))
    page = client.get(reverse("accounts:otp_setup"))
    assert page.status_code == 200 and "data:image/svg+xml" in page.content.decode()
    device = TOTPDevice.objects.get(user=world.users["worker_a1"], confirmed=False)
    wrong = client.post(
        reverse("accounts:otp_setup"), {"token": "000000" if _code(device) != "000000" else "111111"}
    )
    assert "验证码不正确" in wrong.content.decode()
    throttled = client.post(reverse("accounts:otp_setup"), {"token": _code(device)})
    assert "尝试过于频繁" in throttled.content.decode()
    device.refresh_from_db()
    device.throttle_reset()
    assert client.post(reverse("accounts:otp_setup") + "?next=/", {"token": _code(device)}).status_code == 302
    assert client.get(reverse("ui:home")).status_code == 200
    # next session: verify instead of enrol
    client.post(reverse("accounts:logout"))
    _login(client, "worker_a1")
    assert client.get(reverse("ui:home"))["Location"].startswith(reverse("accounts:otp_verify"))
    device.refresh_from_db()
    device.last_t = -1
    device.save()
    assert client.post(reverse("accounts:otp_verify"), {"token": _code(device)}).status_code == 302
    assert client.get(reverse("ui:home")).status_code == 200


def test_otp_code_must_be_six_digits(client, world):
    _login(client, "worker_a1")
    response = client.post(reverse("accounts:otp_setup"), {"token": "12ab56"})
    assert "6 位数字" in response.content.decode()


def test_open_redirect_after_otp_is_refused(client, world):
    _login(client, "worker_a1")
    client.get(reverse("accounts:otp_setup"))
    device = TOTPDevice.objects.get(user=world.users["worker_a1"])
    response = client.post(
        reverse("accounts:otp_setup") + "?next=https://evil.example/", {"token": _code(device)}
    )
    assert response["Location"] == reverse("ui:home")


def test_idle_sessions_expire(client, world):
    assert settings.SESSION_COOKIE_AGE <= 1800 and settings.SESSION_SAVE_EVERY_REQUEST
    _login(client, "reporter")
    session = client.session
    session.set_expiry(-1)
    session.save()
    assert client.get(reverse("ui:home")).status_code == 302


def test_passwords_are_hashed_with_argon2_in_production_settings():
    assert "Argon2PasswordHasher" in settings.PASSWORD_HASHERS[-1]
    from django.contrib.auth.hashers import Argon2PasswordHasher

    assert Argon2PasswordHasher().encode("x", Argon2PasswordHasher().salt()).startswith("argon2")


def test_security_admin_resets_a_lost_second_factor(client, world):
    from weibao.lib.testing import verify_second_factor

    worker = world.users["worker_a1"]
    verify_second_factor(client.__class__(), worker)  # worker has a confirmed device
    verify_second_factor(client, world.users["secadmin"])
    url = reverse("accounts:user_reset_second_factor", args=[worker.uuid])
    client.post(url, {"reason": ""})
    assert TOTPDevice.objects.filter(user=worker).exists()
    client.post(url, {"reason": "手机遗失"})
    assert not TOTPDevice.objects.filter(user=worker).exists()
    assert AuditEvent.objects.filter(
        action="second_factor", reason="手机遗失", object_id=str(worker.uuid)
    ).exists()
    other = client.__class__()
    verify_second_factor(other, world.users["sysadmin"])  # system admins cannot (security duty)
    other.post(url, {"reason": "x"})
    assert AuditEvent.objects.filter(action="second_factor", object_id=str(worker.uuid)).count() == 1


@pytest.mark.parametrize(
    "path",
    ["accounts:tokens", "accounts:user_list", "accounts:organisation_list"],
)
def test_pages_under_accounts_need_the_second_factor_too(client, world, path):
    """A password alone must not reach the tokens page (a token calls the whole API) or the administration
    pages; only sign-in, sign-out and the second factor's own pages are open before it."""
    for username in ("worker_a1", "secadmin"):
        client.logout()
        assert _login(client, username).status_code == 302
        response = client.get(reverse(path))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:otp_setup"))
        refused = client.post(reverse("accounts:tokens"), {"name": "x", "days": 30})
        assert refused.status_code == 302 and "/otp/" in refused["Location"]
    from weibao.accounts.models import ApiToken

    assert not ApiToken.objects.exists()
    assert client.get(reverse("accounts:otp_setup")).status_code == 200
    assert client.post(reverse("accounts:logout")).status_code == 302
