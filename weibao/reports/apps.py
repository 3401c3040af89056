from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "weibao.reports"
    verbose_name = _("强制报告")

    def ready(self):
        from weibao.registry.timeline import register

        from . import deadlines  # noqa: F401  (registers the overdue-step checker)
        from .timeline import reports_timeline

        register(reports_timeline)
