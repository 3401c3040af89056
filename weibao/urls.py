"""Top-level URL map: one include per app, the API under /api/, the OpenAPI document at /api/schema/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("weibao.accounts.urls")),
    path("audit/", include("weibao.audit.urls")),
    path("registry/", include("weibao.registry.urls")),
    path("feeds/", include("weibao.feeds.urls")),
    path("notifications/", include("weibao.notifications.urls")),
    path("reports/", include("weibao.reports.urls")),
    path("cases/", include("weibao.cases.urls")),
    path("alerts/", include("weibao.alerts.urls")),
    path("api/", include("weibao.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("weibao.ui.urls")),
]

handler403 = "weibao.ui.views.error_403"
handler404 = "weibao.ui.views.error_404"
handler500 = "weibao.ui.views.error_500"
