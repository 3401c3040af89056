from django.urls import path

from . import config_views, views

app_name = "feeds"
urlpatterns = [
    path("", views.FeedListView.as_view(), name="feed_list"),
    path("add/", config_views.FeedEditView.as_view(), name="feed_add"),
    path("event-types/", config_views.EventTypeListView.as_view(), name="eventtype_list"),
    path("event-types/add/", config_views.EventTypeEditView.as_view(), name="eventtype_add"),
    path("event-types/<int:pk>/edit/", config_views.EventTypeEditView.as_view(), name="eventtype_edit"),
    path("<uuid:uuid>/", views.FeedDetailView.as_view(), name="feed_detail"),
    path("<uuid:uuid>/edit/", config_views.FeedEditView.as_view(), name="feed_edit"),
    path("<uuid:uuid>/upload/", views.feed_upload, name="feed_upload"),
    path("batches/<uuid:uuid>/", views.BatchDetailView.as_view(), name="batch_detail"),
    path("needs-fixing/", views.LandingListView.as_view(), name="landing_list"),
    path("needs-fixing/<int:pk>/", views.landing_fix, name="landing_fix"),
    path("needs-fixing/<int:pk>/discard/", views.landing_discard, name="landing_discard"),
]
