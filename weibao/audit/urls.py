from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.AuditListView.as_view(), name="event_list"),
    path("<int:seq>/", views.AuditDetailView.as_view(), name="event_detail"),
]
