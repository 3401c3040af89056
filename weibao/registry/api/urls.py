from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("persons", views.PersonViewSet, basename="person")
router.register("documents", views.DocumentViewSet, basename="document")
router.register("merges", views.MergeRecordViewSet, basename="merge")
router.register("match-candidates", views.MatchCandidateViewSet, basename="matchcandidate")
urlpatterns = router.urls
