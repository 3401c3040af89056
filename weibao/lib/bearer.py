"""The one parser of ``Authorization: Bearer <key>`` headers, for user tokens and partner-channel tokens.

Kept apart from ``weibao.lib.api``: DRF imports authentication classes while ``rest_framework.views`` loads.
"""

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions


def bearer_key(request, keywords=(b"bearer",)) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; ``None`` without one (or another scheme).

    A header of the right scheme that is malformed or not text fails with a reason, as every API error does.
    """
    header = authentication.get_authorization_header(request).split()
    if not header or header[0].lower() not in keywords:
        return None
    if len(header) != 2:
        raise exceptions.AuthenticationFailed(
            _("Authorization 头格式应为 “Bearer <令牌>” (malformed header)")
        )
    try:
        return header[1].decode()
    except UnicodeError:
        raise exceptions.AuthenticationFailed(_("令牌含有无效字符 (invalid characters in token)")) from None
