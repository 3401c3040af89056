from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("persons/", views.PersonListView.as_view(), name="person_list"),
    path("persons/add/", views.PersonCreateView.as_view(), name="person_add"),
    path("persons/export.csv", views.person_export, name="person_export"),
    path("persons/<uuid:uuid>/", views.PersonDetailView.as_view(), name="person_detail"),
    path("persons/<uuid:uuid>/edit/", views.PersonEditView.as_view(), name="person_edit"),
]
