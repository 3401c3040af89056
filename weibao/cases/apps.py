from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "weibao.cases"
    verbose_name = _("个案管理")

    def ready(self):
        from weibao.notifications.deadlines import register as register_deadline
        from weibao.registry.timeline import register as register_timeline

        from .services import escalate_overdue
        from .timeline import cases_timeline

        register_timeline(cases_timeline)
        register_deadline("cases")(escalate_overdue)
