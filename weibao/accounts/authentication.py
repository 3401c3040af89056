"""API authentication with per-user tokens: ``Authorization: Bearer wb_…``."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from weibao.audit.models import AuditAction
from weibao.audit.services import record

from .models import ApiToken


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"bearer", b"token"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Authorization 头格式应为 “Bearer <令牌>” (malformed header)")
            )
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                _("令牌含有无效字符 (invalid characters in token)")
            ) from None
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
