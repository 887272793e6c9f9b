from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Cross-cutting pieces: the API conventions, the portal shell, health checks."""

    name = "apps.core"
    label = "core"
    verbose_name = _("Core")
