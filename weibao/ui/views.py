"""The home page per role (what needs attention) and the error pages."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from weibao.accounts import access
from weibao.accounts.choices import Role
from weibao.accounts.models import ApiToken, Organisation, User
from weibao.audit.models import AuditAction, AuditEvent
from weibao.registry.choices import PersonKind
from weibao.registry.models import Person

from .statistics import statistics_pages


@login_required
def home(request):
    user = request.user
    roles = user.roles
    cards, panels = [], []
    if access.can_view_persons(user):
        persons = Person.objects.visible_to(user)
        cards.append(
            (_("未成年人（辖区内）"), persons.filter(kind=PersonKind.MINOR).count(), "registry:person_list")
        )
        cards.append((_("敏感记录"), persons.filter(sensitivity="sensitive").count(), "registry:person_list"))
        by_street = (
            persons.values("street__name").annotate(n=Count("id")).order_by("-n")[:10]
            if Role.CITY_OFFICE not in roles
            else persons.values("street__parent__name").annotate(n=Count("id")).order_by("-n")[:16]
        )
        panels.append(
            ("by_area", [[r.get("street__name") or r.get("street__parent__name"), r["n"]] for r in by_street])
        )
    if access.can_view_alerts(user):  # weibao.alerts: open alerts in the user's area
        from weibao.alerts.models import Alert

        cards.append((_("未关闭预警"), Alert.objects.visible_to(user).open().count(), "alerts:alert_list"))
    if access.can_create_persons(user):
        from weibao.registry.models import MatchCandidate

        waiting = MatchCandidate.objects.visible_to(user, access.CHANGE).filter(status="pending")
        cards.append((_("待复核匹配"), waiting.count(), "registry:review_queue"))
    from weibao.feeds.models import Batch, LandingRecord

    if Batch.objects.visible_to(user, access.SEND).exists():
        month = timezone.localdate().replace(day=1)
        cards.append(
            (
                _("本月报送批次"),
                Batch.objects.visible_to(user, access.SEND).filter(created__date__gte=month).count(),
                "feeds:feed_list",
            )
        )
        cards.append(
            (
                _("待修正记录"),
                LandingRecord.objects.visible_to(user, access.SEND).filter(status="rejected").count(),
                "feeds:landing_list",
            )
        )
    if access.may_list_reports(user):
        from weibao.reports.models import OPEN_REPORTS_LABEL, Report

        open_reports = Report.objects.visible_to(user).exclude(status__in=["closed", "merged"])
        cards.append((OPEN_REPORTS_LABEL, open_reports.count(), "reports:list"))
    if access.can_view_cases(user):
        from weibao.cases.services import home_cards

        cards.extend(home_cards(user))
    if access.can_list_users(user):
        visible_users = User.objects.visible_to(user)
        cards.append((_("账户"), visible_users.count(), "accounts:user_list"))
        cards.append(
            (
                _("未授予角色的账户"),
                visible_users.filter(role_assignments__isnull=True, is_system_actor=False).count(),
                "accounts:user_list",
            )
        )
    if access.can_grant_roles(user):
        from axes.models import AccessAttempt

        locked = AccessAttempt.objects.filter(
            failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            username__in=User.objects.visible_to(user).values("username"),
        )
        cards.append((_("被锁定的账户"), locked.values("username").distinct().count(), "accounts:user_list"))
    if access.can_manage_organisations(user):
        cards.append(
            (
                _("单位"),
                Organisation.objects.visible_to(user, access.CHANGE).count(),
                "accounts:organisation_list",
            )
        )
    if access.can_read_audit(user):
        events = AuditEvent.objects.visible_to(user)
        since = timezone.now() - timezone.timedelta(days=1)
        cards.append(
            (
                "24小时内登录失败",
                events.filter(action=AuditAction.LOGIN_FAILED, at__gte=since).count(),
                "audit:event_list",
            )
        )
        cards.append(
            (
                "24小时内导出",
                events.filter(action=AuditAction.EXPORT, at__gte=since).count(),
                "audit:event_list",
            )
        )
        panels.append(("recent_events", list(events.order_by("-seq")[:10])))
    expiring = (
        ApiToken.objects.filter(user=user)
        .usable()
        .filter(expires__lt=timezone.now() + timezone.timedelta(days=14))
    )
    return render(
        request,
        "ui/home.html",
        {
            "cards": cards,
            "panels": dict(panels),
            "expiring_tokens": expiring,
            "may_file_reports": access.may_file_reports(user),
        },
    )


@login_required
def statistics(request):
    """The statistics pages this user may open, one line each; the nav's 统计 entry leads here."""
    pages = statistics_pages(request.user)
    if not pages:
        raise PermissionDenied
    return render(request, "ui/statistics.html", {"pages": pages})


def error_403(request, exception=None):
    return render(request, "403.html", status=403)


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


def error_500(request):
    return render(request, "500.html", status=500)
