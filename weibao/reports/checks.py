"""The rules a report's dates follow, for the staff and public forms and the partner API alike."""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from weibao.lib.dates import add_years


def check_occurred_at(value) -> None:
    """Not in the future (five minutes of clock difference allowed)."""
    if value and value > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError(_("发现时间不能晚于现在 (cannot be in the future)"))


def check_minor_birth_date(value) -> None:
    """A minor's: within the last 18 years, not in the future."""
    today = timezone.localdate()
    if value and (value > today or value < add_years(today, -18)):
        raise ValidationError(_("出生日期应在最近 18 年内 (a minor's birth date)"))
