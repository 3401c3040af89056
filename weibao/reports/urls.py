from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.ReportListView.as_view(), name="list"),
    path("new/", views.report_new, name="new"),
    path("drafts/save/", views.draft_save, name="draft_save"),
    path("drafts/<uuid:uuid>/delete/", views.draft_delete, name="draft_delete"),
    path("export.csv", views.export, name="export"),
    path("figures/", views.figures_page, name="figures"),
    path("public/", views.public_report, name="public"),
    path("public/thanks/", views.public_thanks, name="public_thanks"),
    path("attachments/<uuid:uuid>/", views.attachment, name="attachment"),
    path("<uuid:uuid>/", views.report_detail, name="detail"),
    path("<uuid:uuid>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<uuid:uuid>/decide/", views.decide, name="decide"),
    path("<uuid:uuid>/contact/", views.contact, name="contact"),
    path("<uuid:uuid>/feedback/", views.feedback, name="feedback"),
    path("<uuid:uuid>/close/", views.close, name="close"),
    path("<uuid:uuid>/merge/", views.merge, name="merge"),
    path("<uuid:uuid>/person/", views.link_person, name="link_person"),
]
