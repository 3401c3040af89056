from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("persons", views.PersonViewSet, basename="person")
router.register("documents", views.DocumentViewSet, basename="document")
urlpatterns = router.urls
