from django import template

from weibao.lib.masking import mask_name

register = template.Library()


@register.filter
def widget(field):
    """Render a form field's widget with Tabler's classes and the invalid state."""
    input_type = getattr(field.field.widget, "input_type", "")
    css = "form-select" if input_type == "select" else "form-control"
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css})


@register.filter
def masked_name(value):
    return mask_name(value)


@register.filter
def model_label(object_type: str) -> str:
    """``"reports.report"`` → the model's name as users know it (``强制报告``); the label itself if unknown."""
    from django.apps import apps

    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


@register.filter
def as_json(value) -> str:
    """A value of an audit event's details as readable JSON (Chinese as is, nested values indented)."""
    import json

    if isinstance(value, str):
        return value
    return json.dumps(
        value,
        ensure_ascii=False,
        indent=2 if isinstance(value, (dict, list)) and len(str(value)) > 60 else None,
        default=str,
    )
