"""Search pickers: a choice among too many rows to list (the registry's children, ~400 organisations) is a
search box whose matches an HTMX view returns, never a ``<select>`` of every row.

One shape for every picker: the view answers ``cases/_picker_options.html`` (a ticked or chosen match posts
the row's primary key under the field's name) and the form field validates that key against its own
queryset, as any ``ModelChoiceField`` does — a key the picker never offered is the field's error.
``SearchPicker`` renders the box for a single choice (``cases/widgets/search_picker.html``, with
``cases/picker.js``).
"""

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render

LIMIT = 20  # matches shown; "type more" below them when there are more


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    detail: str = ""


def person_option(p) -> Option:
    """A child as the open-case form lists it: the masked name, sex, month of birth and street."""
    from weibao.lib.masking import mask_name

    born = p.birth_date.strftime("%Y-%m") if p.birth_date else ""
    return Option(p.pk, mask_name(p.name), f"{p.get_sex_display()} {born} · {p.street.name}")


def organisation_option(o) -> Option:
    """An organisation by name, with its type and area (many districts have a 教育局)."""
    return Option(o.pk, o.name, f"{o.type} · {o.area.full_name}")


def organisation_rows(queryset, q: str, near):
    """Organisations of ``queryset`` whose name or short name holds every word of ``q`` (``黄浦 教育``):
    names starting with ``q`` first, then those of the district of ``near`` (a street: the case's), then
    the usual order (area, type, name)."""
    from django.db.models import Case, Q, Value, When

    for word in q.split():
        queryset = queryset.filter(Q(name__icontains=word) | Q(short_name__icontains=word))
    starts = Q(name__istartswith=q) | Q(short_name__istartswith=q)
    local = Q(area=near) | Q(area=near.parent_id) | Q(area__parent=near.parent_id)
    return (
        queryset.select_related("type", "area__parent")
        .annotate(
            starts=Case(When(starts, then=Value(0)), default=Value(1)),
            local=Case(When(local, then=Value(0)), default=Value(1)),
        )
        .order_by("starts", "local", "area__code", "type__sort_order", "name")
    )


def options_response(request, rows, to_option, *, name, multiple, q, empty, more):
    """The matches as ``cases/_picker_options.html``: at most ``LIMIT`` rows, then ``more`` if there are
    more; ``empty`` when a search found nothing. ``multiple``: checkboxes, else radio buttons."""
    rows = list(rows[: LIMIT + 1]) if q else []
    context = {
        "options": [to_option(r) for r in rows[:LIMIT]],
        "name": name,
        "input_type": "checkbox" if multiple else "radio",
        "q": q,
        "empty": empty,
        "more": more if len(rows) > LIMIT else "",
    }
    return render(request, "cases/_picker_options.html", context)


class SearchPicker(forms.Widget):
    """A single choice of a ``ModelChoiceField`` as a search box (``url``: the HTMX view answering ``?q=``),
    with the chosen row under it. The field keeps its queryset: it validates what is posted."""

    template_name = "cases/widgets/search_picker.html"
    input_type = "search"  # the ``widget`` template filter gives it Tabler's ``form-control``

    def __init__(self, to_option, placeholder="", attrs=None):
        super().__init__(attrs)
        self.to_option, self.placeholder = to_option, placeholder
        self.url = ""
        self.choices = ()  # the field's ModelChoiceIterator: never iterated, only its field asked

    def use_required_attribute(self, initial):
        return False  # the search box may stay empty once a row is chosen; the field checks the choice

    def chosen(self, value) -> Option | None:
        field = getattr(self.choices, "field", None)
        if field is None or value in (None, ""):
            return None
        try:
            row = field.to_python(value)
        except ValidationError:
            return None
        return self.to_option(row) if row is not None else None

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(url=self.url, placeholder=self.placeholder, chosen=self.chosen(value))
        return context


class SearchChoiceField(forms.ModelChoiceField):
    """A ``ModelChoiceField`` picked by search: the widget is given its search ``url`` by the form."""

    def __init__(self, queryset, *, to_option, placeholder="", **kwargs):
        kwargs.setdefault("widget", SearchPicker(to_option, placeholder))
        super().__init__(queryset, **kwargs)
