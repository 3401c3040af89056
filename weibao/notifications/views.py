from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from weibao.lib.forms import in_id_range
from weibao.lib.views import ScopedListView

from . import services
from .models import Notification


class NotificationListView(ScopedListView):
    model = Notification
    template_name = "notifications/list.html"

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.unread() if self.request.GET.get("unread") else qs


@login_required
@require_POST
def mark_read(request):
    ids = request.POST.getlist("id") or None
    numbers = [int(i) for i in ids if in_id_range(i)] if ids else None
    services.mark_read(request.user, numbers)
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("notifications:list")


def unread_count(request):
    """Context processor: the number on the bell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": Notification.objects.visible_to(user).unread().count()}
