"""One router for the whole REST API; each app registers its viewsets in ``api/urls.py``."""

from django.urls import include, path

app_name = "api"
urlpatterns = [
    path("accounts/", include("weibao.accounts.api.urls")),
    path("audit/", include("weibao.audit.api.urls")),
    path("registry/", include("weibao.registry.api.urls")),
    path("feeds/", include("weibao.feeds.api.urls")),
    path("notifications/", include("weibao.notifications.api.urls")),
    path("reports/", include("weibao.reports.api.urls")),
    path("cases/", include("weibao.cases.api.urls")),
    path("alerts/", include("weibao.alerts.api.urls")),
]
