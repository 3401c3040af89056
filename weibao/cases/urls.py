from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.CaseListView.as_view(), name="case_list"),
    path("new/", views.OpenCaseView.as_view(), name="case_open"),
    path("new/persons/", views.person_picker, name="person_picker"),
    path("caseload/", views.caseload, name="caseload"),
    path("time-limits/", views.time_limits, name="time_limits"),
    path("referrals/", views.ReferralListView.as_view(), name="referral_list"),
    path("referrals/<uuid:uuid>/", views.referral_detail, name="referral_detail"),
    path("referrals/<uuid:uuid>/respond/", views.respond_referral, name="referral_respond"),
    path("referrals/<uuid:uuid>/report/", views.report_referral, name="referral_report"),
    path("files/<uuid:uuid>/", views.attachment_download, name="attachment"),
    path("<uuid:uuid>/", views.case_detail, name="case_detail"),
    path("<uuid:uuid>/pdf/", views.case_pdf, name="case_pdf"),
    path("<uuid:uuid>/transition/", views.transition, name="case_transition"),
    path("<uuid:uuid>/request-approval/", views.request_approval, name="case_request_approval"),
    path("<uuid:uuid>/approvals/<uuid:approval_uuid>/", views.decide_approval, name="approval_decide"),
    path("<uuid:uuid>/update/", views.update_case, name="case_update"),
    path("<uuid:uuid>/notes/", views.add_note, name="note_add"),
    path("<uuid:uuid>/plan/", views.add_plan_item, name="plan_add"),
    path("<uuid:uuid>/organisations/", views.organisation_picker, name="organisation_picker"),
    path("<uuid:uuid>/plan/<uuid:item_uuid>/", views.set_plan_status, name="plan_status"),
    path("<uuid:uuid>/interventions/", views.add_intervention, name="intervention_add"),
    path(
        "<uuid:uuid>/interventions/<uuid:intervention_uuid>/",
        views.update_intervention,
        name="intervention_update",
    ),
    path(
        "<uuid:uuid>/interventions/<uuid:intervention_uuid>/reviews/",
        views.add_compliance_review,
        name="compliance_add",
    ),
    path("<uuid:uuid>/referrals/", views.send_referral, name="referral_send"),
    path(
        "<uuid:uuid>/referrals/<uuid:referral_uuid>/withdraw/",
        views.withdraw_referral,
        name="referral_withdraw",
    ),
    path("<uuid:uuid>/assess/", views.assessment_new, name="assessment_new"),
]
