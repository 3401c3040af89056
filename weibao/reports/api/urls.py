from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("reports", views.ReportViewSet, basename="report")

urlpatterns = [
    path("partner/reports/", views.PartnerReportCreate.as_view(), name="partner-report-create"),
    path(
        "partner/reports/<str:external_id>/",
        views.PartnerReportStatus.as_view(),
        name="partner-report-status",
    ),
    *router.urls,
]
