from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "weibao.registry"
    verbose_name = _("未成年人信息")
