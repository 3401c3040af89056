"""Base views: every page that shows scoped data starts from ``Model.objects.visible_to(user, action)``.

A record outside the user's scope gets the same 404 as one that does not exist (STYLE.md convention 2).
"""

import uuid

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.views import generic


def uuid_or_none(value) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is missing or not one (a hand-edited address is no server error)."""
    try:
        return uuid.UUID(str(value)) if value else None
    except (ValueError, TypeError, AttributeError):
        return None


class ScopedMixin(LoginRequiredMixin):
    model = None
    action = "view"

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user, self.action)


class ScopedListView(ScopedMixin, generic.ListView):
    paginate_by = 50


class ScopedDetailView(ScopedMixin, generic.DetailView):
    slug_field = "uuid"
    slug_url_kwarg = "uuid"


class ScopedObjectMixin(ScopedMixin):
    """Edit views: the object must be inside the ``change`` scope, else 404."""

    action = "change"
    slug_field = "uuid"
    slug_url_kwarg = "uuid"


class RoleRequiredMixin(LoginRequiredMixin):
    """For pages that are not about scoped rows (e.g. a create form): ``allowed(user)`` decides."""

    def allowed(self, user) -> bool:
        raise NotImplementedError

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not self.allowed(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def form_error_lines(form) -> list[str]:
    """A form's errors, one line per field, after the field's label (``姓名：必填``; errors of the whole form
    without one) — for a page message or a plain-text answer."""
    lines = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        lines.append(f"{label}：{'；'.join(errors)}" if label else "；".join(errors))
    return lines


def report_form_errors(request, form) -> None:
    """A form's errors as page messages, for a small form posted from a page that redirects back."""
    for line in form_error_lines(form):
        messages.error(request, line)
