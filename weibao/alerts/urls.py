from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("", views.AlertListView.as_view(), name="alert_list"),
    path("<uuid:uuid>/", views.AlertDetailView.as_view(), name="alert_detail"),
    path("<uuid:uuid>/transition/", views.alert_transition, name="alert_transition"),
    path("rules/", views.RuleListView.as_view(), name="rule_list"),
    path("rules/add/", views.RuleEditView.as_view(), name="rule_add"),
    path("rules/screen/", views.screen_now, name="screen_now"),
    path("rules/export.yaml", views.rules_export, name="rules_export"),
    path("rules/import/", views.rules_import, name="rules_import"),
    path("rules/<uuid:uuid>/", views.RuleDetailView.as_view(), name="rule_detail"),
    path("rules/<uuid:uuid>/edit/", views.RuleEditView.as_view(), name="rule_edit"),
    path("rules/<uuid:uuid>/dry-run/", views.rule_dry_run, name="rule_dry_run"),
    path("rules/<uuid:uuid>/<str:status>/", views.rule_status, name="rule_status"),
]
