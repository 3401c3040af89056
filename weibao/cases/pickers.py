"""Search pickers: a choice among too many rows to list (the registry's children, ~400 organisations) is a
search box whose matches an HTMX view returns, never a ``<select>`` of every row.

One shape for every picker: the view answers ``cases/_picker_options.html`` (a ticked or chosen match posts
the row's primary key under the field's name) and the form field validates that key against its own
queryset, as any ``ModelChoiceField`` does — a key the picker never offered is the field's error.
``SearchPicker`` renders the box for a single choice (radio buttons), ``SearchMultiplePicker`` for several
(checkboxes: the children of a case); both are ``cases/widgets/search_picker.html`` with ``cases/picker.js``.
Their fields, ``SearchChoiceField`` and ``SearchMultipleChoiceField``, are given the search view's URL.
"""

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from weibao.lib.forms import MAX_ID, in_id_range

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
    return Option(
        p.pk, mask_name(p.name), f"{p.get_sex_display()} {born} · {p.street.name if p.street else ''}"
    )


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
    choice_type = "radio"  # how a match and the chosen row are ticked; the view answers in kind

    def __init__(self, to_option, placeholder="", url="", attrs=None):
        super().__init__(attrs)
        self.to_option, self.placeholder, self.url = to_option, placeholder, url
        self.choices = ()  # the field's ModelChoiceIterator: never iterated, only its field asked

    def use_required_attribute(self, initial):
        return False  # the search box may stay empty once a row is chosen; the field checks the choice

    def _field(self):
        return getattr(self.choices, "field", None)

    def chosen(self, value) -> list[Option]:
        field = self._field()
        if field is None or value in (None, ""):
            return []
        try:
            row = field.to_python(value)
        except ValidationError:
            return []
        return [self.to_option(row)] if row is not None else []

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            url=self.url,
            placeholder=self.placeholder,
            choice_type=self.choice_type,
            chosen=self.chosen(value),
        )
        return context


class SearchMultiplePicker(SearchPicker):
    """Several choices of a ``ModelMultipleChoiceField`` (by primary key): every chosen row is a ticked
    checkbox under the box, and stays when the user searches again; unticking one leaves it out."""

    allow_multiple_selected = True
    choice_type = "checkbox"

    def value_from_datadict(self, data, files, name):
        getter = getattr(data, "getlist", None)
        return getter(name) if getter else data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return False  # nothing ticked posts nothing: an empty choice, not an omitted field

    def format_value(self, value):
        if value is None:
            return []
        return [str(v) for v in (value if isinstance(value, list | tuple) else [value])]

    def chosen_rows(self, value) -> list:
        """The rows of the field's queryset among ``value`` (the first ``LIMIT``), in the order given; a key out
        of the queryset (or out of range) is not shown — the field names it in its error."""
        field = self._field()
        keys = list(dict.fromkeys(k for k in self.format_value(value) if in_id_range(k)))[:LIMIT]
        if field is None or not keys:
            return []
        rows = {str(row.pk): row for row in field.queryset.filter(pk__in=keys)}
        return [rows[k] for k in keys if k in rows]

    def chosen(self, value) -> list[Option]:
        return [self.to_option(row) for row in self.chosen_rows(value)]


class SearchChoiceField(forms.ModelChoiceField):
    """A ``ModelChoiceField`` picked by search: the widget is given its search ``url`` here or by the form."""

    def __init__(self, queryset, *, to_option, placeholder="", url="", **kwargs):
        kwargs.setdefault("widget", SearchPicker(to_option, placeholder, url))
        super().__init__(queryset, **kwargs)


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Refuses a number beyond the 64-bit range with the field's error before Django's own check queries the
    database with it (``pk IN (…)``: an OverflowError, a 500, on SQLite)."""

    default_error_messages = {
        **forms.ModelMultipleChoiceField.default_error_messages,
        "out_of_range": _("编号“%(pk)s”超出范围 (id out of range)"),
    }

    def clean(self, value):
        for pk in value if isinstance(value, list | tuple) else ():
            try:
                number = int(str(pk))
            except ValueError:
                continue  # not a number: Django's own check words it
            if abs(number) > MAX_ID:
                raise ValidationError(
                    self.error_messages["out_of_range"], code="out_of_range", params={"pk": pk}
                )
        return super().clean(value)


class SearchMultipleChoiceField(IdsChoiceField):
    """Several rows picked by search (``SearchMultiplePicker``); every posted key is checked against the
    queryset, as ``ModelMultipleChoiceField`` does."""

    def __init__(self, queryset, *, to_option, placeholder="", url="", **kwargs):
        kwargs.setdefault("widget", SearchMultiplePicker(to_option, placeholder, url))
        super().__init__(queryset, **kwargs)
