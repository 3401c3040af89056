from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedsConfig(AppConfig):
    name = "weibao.feeds"
    verbose_name = _("数据报送")

    def ready(self):
        from weibao.registry.timeline import register

        from .timeline import events_timeline

        register(events_timeline)
