"""Partner channels authenticate with their own token: ``Authorization: Bearer wbp_…``."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from weibao.audit.models import AuditAction
from weibao.audit.services import record

from ..models import PartnerChannel


class PartnerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Authorization 头格式应为 “Bearer <渠道令牌>” (malformed header)")
            )
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                _("令牌含有无效字符 (invalid characters in token)")
            ) from None
        channel = PartnerChannel.objects.filter(token_hash=PartnerChannel.hash_token(key)).first()
        if channel is None or not channel.is_active or not key.startswith(PartnerChannel.PREFIX):
            record(
                None,
                AuditAction.DENIED,
                object_type="reports.partnerchannel",
                object_repr="partner token refused",
                extra={"path": request.path, "prefix": key[:8]},
                username="partner:?",
            )
            raise exceptions.AuthenticationFailed(
                _("渠道令牌无效或渠道已停用 (partner token invalid or channel inactive)")
            )
        return AnonymousUser(), channel

    def authenticate_header(self, request):
        return self.keyword


class IsPartner(permissions.BasePermission):
    message = _("需要渠道令牌 (partner token required)")

    def has_permission(self, request, view):
        return isinstance(request.auth, PartnerChannel)


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = PartnerTokenAuthentication
    name = "PartnerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Partner channel token (wbp_…), issued with `manage.py partner_token CODE`",
        }
