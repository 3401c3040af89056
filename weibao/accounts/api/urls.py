from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("areas", views.AreaViewSet)
router.register("organisation-types", views.OrganisationTypeViewSet)
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("users", views.UserViewSet, basename="user")
router.register("tokens", views.ApiTokenViewSet, basename="token")
urlpatterns = router.urls
