"""Public and partner submissions: every one is kept (accepted or refused, with why); limits hold them off.

Rate limits count the ``Submission`` rows themselves — a table every process shares — so a limit holds
across processes and servers without a shared cache; the address is kept only as a keyed hash.
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.audit.models import AuditAction
from weibao.audit.services import record
from weibao.lib.crypto import blind_index

from . import conf
from .choices import Refusal
from .models import Submission

URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)


class Refused(Exception):
    """A submission turned away; ``message`` says why to the submitter, ``refusal`` is the kept reason."""

    def __init__(self, refusal: str, message: str, *, status: int = 400, errors=None):
        super().__init__(message)
        self.refusal, self.message, self.status, self.errors = refusal, message, status, errors or {}


def address_hash(address: str) -> str:
    return blind_index(address or "unknown", "client-address")


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")  # behind a proxy, the proxy sets REMOTE_ADDR (see decisions)


def check_text(description: str) -> None:
    """Content checks shared by every channel; ``Refused`` with the reason."""
    text = (description or "").strip()
    if len(text) > conf.get("MAX_TEXT"):
        raise Refused(
            Refusal.TOO_LARGE,
            _("“发现的情况”过长：最多 %(n)d 字 (description too long)") % {"n": conf.get("MAX_TEXT")},
            errors={"description": [_("最多 %(n)d 字") % {"n": conf.get("MAX_TEXT")}]},
        )
    without_links = URL.sub("", text).strip()
    if len(text) < conf.get("MIN_TEXT"):
        raise Refused(
            Refusal.EMPTY,
            _("“发现的情况”过短：请至少写 %(n)d 个字 (description too short)") % {"n": conf.get("MIN_TEXT")},
            errors={"description": [_("请至少写 %(n)d 个字") % {"n": conf.get("MIN_TEXT")}]},
        )
    if len(without_links) < conf.get("MIN_TEXT"):
        raise Refused(
            Refusal.SPAM,
            _("“发现的情况”只有链接，请用文字描述看到的情况 (links only)"),
            errors={"description": [_("请用文字描述，不要只填链接")]},
        )


def check_rate(*, channel: str, address: str = "", partner=None) -> None:
    if partner is not None:
        limit, seconds = conf.get("PARTNER_RATE")
        scope = Q(partner=partner)
    else:
        limit, seconds = conf.get("PUBLIC_RATE")
        scope = Q(address_hash=address_hash(address), channel=channel)
    since = timezone.now() - datetime.timedelta(seconds=seconds)
    used = Submission.objects.filter(scope, created__gte=since).exclude(refusal=Refusal.RATE_LIMITED).count()
    if used >= limit:
        minutes = max(1, seconds // 60)
        raise Refused(
            Refusal.RATE_LIMITED,
            _("提交过于频繁：每 %(m)d 分钟最多 %(n)d 次，请稍后再试；情况紧急请直接拨打 110 (rate limited)")
            % {"m": minutes, "n": limit},
            status=429,
        )


def keep(*, channel, accepted, address="", partner=None, refusal="", detail="", report=None, size=0):
    submission = Submission.objects.create(
        channel=channel,
        partner=partner,
        address_hash=address_hash(address) if partner is None else "",
        accepted=accepted,
        refusal=refusal,
        detail=detail[:500],
        report=report,
        size=size,
    )
    if not accepted:
        record(
            None,
            AuditAction.DENIED,
            object_type="reports.submission",
            object_id=str(submission.pk),
            object_repr=f"{channel} {refusal}",
            extra={"partner": partner.code if partner else "", "refusal": refusal},
            username=f"partner:{partner.code}" if partner else "public",
        )
    return submission


def refuse_invalid(exc: ValidationError) -> Refused:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return Refused(Refusal.INVALID, _("输入有误 (invalid input)"), errors=errors)
