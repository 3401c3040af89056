from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("otp/setup/", views.otp_setup, name="otp_setup"),
    path("otp/verify/", views.otp_verify, name="otp_verify"),
    path("organisations/", views.OrganisationListView.as_view(), name="organisation_list"),
    path("organisations/add/", views.OrganisationCreateView.as_view(), name="organisation_add"),
    path("organisations/import/", views.OrganisationImportView.as_view(), name="organisation_import"),
    path("organisations/export.csv", views.organisation_export, name="organisation_export"),
    path("organisations/<uuid:uuid>/", views.OrganisationDetailView.as_view(), name="organisation_detail"),
    path("organisations/<uuid:uuid>/edit/", views.OrganisationEditView.as_view(), name="organisation_edit"),
    path("users/", views.UserListView.as_view(), name="user_list"),
    path("users/add/", views.UserCreateView.as_view(), name="user_add"),
    path("users/<uuid:uuid>/", views.UserDetailView.as_view(), name="user_detail"),
    path("users/<uuid:uuid>/edit/", views.UserEditView.as_view(), name="user_edit"),
    path("users/<uuid:uuid>/unlock/", views.user_unlock, name="user_unlock"),
    path(
        "users/<uuid:uuid>/second-factor/reset/",
        views.user_reset_second_factor,
        name="user_reset_second_factor",
    ),
    path("roles/<int:pk>/revoke/", views.role_revoke, name="role_revoke"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<uuid:uuid>/revoke/", views.token_revoke, name="token_revoke"),
]
