from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("persons", views.PersonViewSet, basename="person")
urlpatterns = router.urls
