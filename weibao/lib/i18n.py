"""Vocabularies kept as data (organisation types, person categories, event types, alert levels) carry an
English name beside the Chinese one; ``localized_name`` picks the one for the active language."""

from django.utils.translation import get_language


def localized_name(obj, field: str = "name") -> str:
    """``obj.name_en`` when English is active and it is filled in, else ``obj.name``."""
    if (get_language() or "").startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, field)
