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
