from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Cross-cutting pieces every app may use (the bottom layer): API error and pagination conventions,
    form helpers, reasons, health checks, the portal shell templates."""

    name = "apps.core"
    label = "core"
    verbose_name = _("Core")
