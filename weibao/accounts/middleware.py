"""Sends users whose roles read person-level data through TOTP set-up and verification before anything else."""

from django.shortcuts import redirect
from django.urls import reverse

from .access import requires_second_factor

# Signing in and out and the second factor itself; static files; the API (its permission class checks the
# session's second factor, and tokens are issued only on the tokens page, which is not exempt).
EXEMPT_PREFIXES = ("/accounts/login/", "/accounts/logout/", "/accounts/otp/", "/static/", "/i18n/", "/api/")


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
            and requires_second_factor(user)
        ):
            from django_otp import devices_for_user

            has_device = any(True for _ in devices_for_user(user, confirmed=True))
            target = "accounts:otp_verify" if has_device else "accounts:otp_setup"
            return redirect(f"{reverse(target)}?next={request.get_full_path()}")
        return self.get_response(request)
