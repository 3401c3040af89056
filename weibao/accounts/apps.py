from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "weibao.accounts"
    verbose_name = _("账户与单位")

    def ready(self):
        from . import signals  # noqa: F401  login, logout and failed-login audit events
