from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("event-types", views.EventTypeViewSet, basename="event-type")
router.register("batches", views.BatchViewSet, basename="batch")
router.register("landing-records", views.LandingRecordViewSet, basename="landing-record")
router.register("feeds", views.FeedViewSet, basename="feed")
urlpatterns = [
    path("<slug:code>/batches/", views.FeedBatchView.as_view(), name="feed-batches"),
    *router.urls,
]
