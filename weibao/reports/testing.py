"""Report fixtures for tests and the browser world."""

import datetime

from weibao.lib.checksums import id_check_char
from weibao.lib.testing import A1, area

from . import services
from .choices import Channel, Situation
from .models import PartnerChannel, Report


def id_number(seq: int, born: str = "20150601") -> str:
    first17 = f"310101{born}{seq:03d}"
    return first17 + id_check_char(first17)


def make_report(
    world=None, *, by="reporter", street=A1, situation=Situation.ABUSE_INJURY, **fields
) -> Report:
    """A staff report filed by persona ``by`` (its organisation) about a minor living in ``street``."""
    user = world.users[by] if world and by else None
    defaults = {
        "channel": Channel.STAFF if user else Channel.PUBLIC,
        "situation": situation,
        "description": "孩子手臂有多处淤青，说是在家被打的。",
        "minor_name": "王小明",
        "minor_sex": "M",
        "minor_birth_date": datetime.date(2015, 6, 1),
        "minor_street": area(street) if street else None,
        "reporter_user": user,
        "reporter_org": user.active_assignments()[0].organisation if user else None,
        "reporter_name": user.username if user else "",
    }
    id_no = fields.pop("id_number", "")
    report = Report(**(defaults | fields))
    if id_no:
        services.set_minor_id(report, id_no)
    return services.create_report(report, actor=user)


def partner_with_token(code: str = "12355") -> tuple[PartnerChannel, str]:
    channel = PartnerChannel.objects.get(code=code)
    token = PartnerChannel.new_token()
    channel.token_hash = PartnerChannel.hash_token(token)
    channel.save()
    return channel, token


# A mandated reporter's staff form, filled in (form field → value).
STAFF = {
    "situation": "abuse_injury",
    "description": "学生手臂有淤青，自述被继父打伤。",
    "minor_name": "周小北",
    "minor_sex": "M",
    "minor_birth_date": "2015-06-01",
    "suspect_relation": "step_parent",
}
