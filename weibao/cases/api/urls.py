from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("cases", views.CaseViewSet, basename="case")
router.register("transitions", views.CaseTransitionViewSet, basename="casetransition")
router.register("assessments", views.AssessmentViewSet, basename="assessment")
router.register("plan-items", views.PlanItemViewSet, basename="planitem")
router.register("interventions", views.InterventionViewSet, basename="intervention")
router.register("referrals", views.ReferralViewSet, basename="referral")
router.register("notes", views.NoteViewSet, basename="note")
urlpatterns = router.urls
