"""DRF permission: authenticated, and through the second factor when the session's roles require one."""

from rest_framework.permissions import BasePermission

from .access import requires_second_factor
from .models import ApiToken


class AuthenticatedWithSecondFactor(BasePermission):
    message = "需要登录并完成二次验证 (login and second factor required)"

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if isinstance(request.auth, ApiToken):
            return True  # tokens are only issued inside a verified session
        return not requires_second_factor(user) or user.is_verified()
