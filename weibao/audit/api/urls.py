from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("events", views.AuditEventViewSet, basename="auditevent")
urlpatterns = router.urls
