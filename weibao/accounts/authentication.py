"""API authentication with per-user tokens: ``Authorization: Bearer wb_…``."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.bearer import bearer_key

from .models import ApiToken


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        key = bearer_key(request, keywords=(b"bearer", b"token"))
        if key is None:
            return None
        token = (
            ApiToken.objects.usable().select_related("user").filter(key_hash=ApiToken.hash_key(key)).first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("令牌无效、已过期或已吊销 (token invalid, expired or revoked)")
            )
        now = timezone.now()
        # One audit event per token per minute at most: enough to trace use without flooding the trail.
        if token.last_used is None or (now - token.last_used).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
            record(token.user, AuditAction.TOKEN_USE, token, extra={"path": request.path})
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Per-user API token (wb_…), see /accounts/tokens/",
        }
