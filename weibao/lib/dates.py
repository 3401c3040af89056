"""Calendar arithmetic the rules about minors need (ages, "under 18 on that day"); the earliest date a form or
the API accepts."""

import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


def add_years(day: datetime.date, years: int) -> datetime.date:
    """``day`` moved by whole years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- dates and times typed into forms or sent to the API: nothing before 1900 ------------------------------
# Django's and DRF's parsers take year 1. A time that early cannot be converted to UTC: saving it raises
# ``OverflowError`` on SQLite, PostgreSQL keeps a value psycopg then cannot read back (every page listing it
# fails), and DRF's own time-zone step raises inside ``is_valid()``. Nothing this system records is that old,
# so the field refuses it with its name and the reason (feed records: ``feeds.validation.MIN_DATE``).

EARLIEST_YEAR = 1900


class NotBefore1900:
    """Validator of a form or serializer field: ``label`` (as the page shows it) and ``name`` word the error,
    e.g. "发现时间不能早于1900年 (occurred_at before 1900)"."""

    def __init__(self, label, name: str):
        self.label, self.name = label, name

    def __call__(self, value) -> None:
        if value is not None and value.year < EARLIEST_YEAR:
            raise ValidationError(self.message(), code="before_1900")

    def message(self) -> str:
        return _("%(label)s不能早于%(year)s年 (%(name)s before %(year)s)") % {
            "label": self.label,
            "name": self.name,
            "year": EARLIEST_YEAR,
        }


class DateTimeField(serializers.DateTimeField):
    """DRF's ``DateTimeField`` refusing times before 1900 with a 400 — DRF's time-zone step overflows on a time
    near year 1 before any validator runs. ``label`` is required: it words the error."""

    def __init__(self, *, label, **kwargs):
        super().__init__(label=label, **kwargs)

    def to_internal_value(self, value):
        check = NotBefore1900(self.label, self.field_name)
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:  # only a time near year 1 gets this far: DRF catches the others itself
            raise serializers.ValidationError(check.message(), code="before_1900") from None
        try:
            check(parsed)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages, code="before_1900") from None
        return parsed
