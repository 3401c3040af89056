from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("persons/", views.PersonListView.as_view(), name="person_list"),
    path("persons/add/", views.PersonCreateView.as_view(), name="person_add"),
    path("persons/export.csv", views.person_export, name="person_export"),
    path("persons/<uuid:uuid>/", views.PersonDetailView.as_view(), name="person_detail"),
    path("persons/<uuid:uuid>/edit/", views.PersonEditView.as_view(), name="person_edit"),
    path("persons/<uuid:uuid>/documents/", views.person_add_document, name="person_add_document"),
    path("persons/<uuid:uuid>/guardians/", views.person_add_guardian, name="person_add_guardian"),
    path("persons/<uuid:uuid>/categories/", views.person_add_category, name="person_add_category"),
    path("review/", views.review_queue, name="review_queue"),
    path("persons/<uuid:uuid>/merges/<uuid:merge>/split/", views.person_split, name="person_split"),
    path("categories/", views.CategoryListView.as_view(), name="category_list"),
    path("categories/add/", views.CategoryEditView.as_view(), name="category_add"),
    path("categories/<int:pk>/edit/", views.CategoryEditView.as_view(), name="category_edit"),
    path("documents/<int:pk>/reveal/", views.document_reveal, name="document_reveal"),
]
