"""Form widgets every app shares.

The browser's ``<input type="date">`` takes its value only as ``YYYY-MM-DD`` (``datetime-local``:
``YYYY-MM-DDTHH:MM``). Django renders a date in the active language's format unless told otherwise
(``2019/06/26`` in Chinese), which the browser drops: an edit form would show the field empty and, saved,
erase the date. These widgets always render the browser's format.
"""

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")
