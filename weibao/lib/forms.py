"""Form pieces every app shares: the reason given with an action, and keys a database can look up."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

REASON_MAX = 500  # every ``reason`` column (audit events, merges, landing rows, rules …)
MAX_ID = 2**63 - 1  # keys are 64-bit integers; SQLite cannot even bind a larger number (OverflowError)

REASON_TOO_LONG = _("不能超过 %(limit_value)d 个字符 (at most %(limit_value)d characters)")


class ReasonForm(forms.Form):
    """The reason posted with an action (a review decision, a split, a reveal, a rule's status): at most
    ``REASON_MAX`` characters, refused beyond — never cut."""

    reason = forms.CharField(
        label=_("事由"), max_length=REASON_MAX, required=False, error_messages={"max_length": REASON_TOO_LONG}
    )


def check_reason(reason: str, field: str = "reason") -> None:
    """The same rule for a service called without a form (the API, a command)."""
    if len(reason) > REASON_MAX:
        raise ValidationError({field: REASON_TOO_LONG % {"limit_value": REASON_MAX}})


def in_id_range(value) -> bool:
    """``value`` is digits naming a key a database can look up (1 … 2⁶³−1); never an ``int()`` of thousands of
    digits, which raises."""
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) <= 19 and 0 < int(text) <= MAX_ID
