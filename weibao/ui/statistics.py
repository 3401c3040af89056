"""The statistics pages of the apps, and which of them a user may open (the 统计 nav entry and its index).

Each page is listed with the very ``access`` predicate its own view checks before it renders, so the index
and the navigation offer a page exactly when the page would open (``ui/tests/test_statistics.py`` asks every
persona both questions and compares the answers).
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from weibao.accounts import access


@dataclass(frozen=True)
class StatisticsPage:
    title: Promise
    about: Promise  # one line: what the page counts
    url_name: str
    icon: str
    may_view: object  # the view's own predicate: ``may_view(user) -> bool``

    @property
    def url(self) -> str:
        return reverse(self.url_name)


PAGES = (
    StatisticsPage(
        _("个案统计"),
        _("在办、超时和已结案个案，按区域、状态、风险等级和办理时长分布"),
        "cases:caseload",
        "chart-bar",
        access.can_view_cases,  # weibao.cases.views.caseload
    ),
    StatisticsPage(
        _("强制报告统计"),
        _("按报告单位类型和区统计报告数与决定时长，并列出从未报告的责任单位"),
        "reports:figures",
        "chart-pie",
        access.may_view_report_figures,  # weibao.reports.views.figures_page
    ),
)


def statistics_pages(user) -> list[StatisticsPage]:
    """The statistics pages ``user`` may open, in the order of ``PAGES``."""
    if user is None or not user.is_authenticated:
        return []
    return [page for page in PAGES if page.may_view(user)]
