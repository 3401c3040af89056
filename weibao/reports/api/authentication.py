"""Partner channels authenticate with their own token: ``Authorization: Bearer wbp_…``."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.bearer import bearer_key

from ..models import PartnerChannel


class PartnerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        key = bearer_key(request)
        if key is None:
            return None
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
