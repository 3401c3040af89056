from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "weibao.alerts"
    verbose_name = _("预警")

    def ready(self):
        from weibao.feeds.signals import batch_committed
        from weibao.registry.timeline import register

        from . import deadlines  # noqa: F401  (registers the overdue checker)
        from .tasks import on_batch_committed
        from .timeline import alerts_timeline

        register(alerts_timeline)
        batch_committed.connect(on_batch_committed, dispatch_uid="alerts-incremental-screening")
