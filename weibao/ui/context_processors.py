"""Navigation by role: each entry appears only when the access rule says the user may use it."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from weibao.accounts import access

from .statistics import statistics_pages


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    nav = [(_("工作台"), reverse("ui:home"), "home")]
    if access.can_view_persons(user):
        nav.append((_("未成年人"), reverse("registry:person_list"), "users"))
    if access.can_create_persons(user):
        nav.append((_("匹配复核"), reverse("registry:review_queue"), "arrows-join"))
    if access.can_view_alerts(user):
        nav.append((_("预警"), reverse("alerts:alert_list"), "bell-exclamation"))
    if access.can_manage_rules(user):
        nav.append((_("预警规则"), reverse("alerts:rule_list"), "adjustments-alt"))
    if access.can_view_cases(user):
        nav.append((_("个案"), reverse("cases:case_list"), "briefcase"))
    nav.append((_("单位"), reverse("accounts:organisation_list"), "building"))
    from weibao.feeds.models import Feed

    if access.may_register_feeds(user) or Feed.objects.visible_to(user).exists():
        nav.append((_("数据报送"), reverse("feeds:feed_list"), "database-import"))
    if Feed.objects.visible_to(user, access.SEND).exists():
        nav.append((_("待修正记录"), reverse("feeds:landing_list"), "alert-triangle"))
    if access.may_list_reports(user):
        nav.append((_("强制报告"), reverse("reports:list"), "alert-octagon"))
    if statistics_pages(user):  # one entry for all of them: the index lists those this user may open
        nav.append((_("统计"), reverse("ui:statistics"), "chart-bar"))
    if access.can_configure_catalogues(user):
        nav.append((_("人员类别"), reverse("registry:category_list"), "tags"))
        nav.append((_("事件目录"), reverse("feeds:eventtype_list"), "list-details"))
        nav.append((_("办理时限"), reverse("cases:time_limits"), "clock"))
    if access.can_list_users(user):
        nav.append((_("账户与角色"), reverse("accounts:user_list"), "user-shield"))
    if access.can_read_audit(user):
        nav.append((_("审计日志"), reverse("audit:event_list"), "file-search"))
    assignments = list(user.active_assignments())
    return {"nav": nav, "my_assignments": assignments}
