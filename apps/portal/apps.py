from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The top layer: the home page, each persona's dashboard, and the demo world. It may use every
    domain app; nothing imports it (import-linter's layers contract in pyproject.toml)."""

    name = "apps.portal"
    label = "portal"
    verbose_name = _("Portal")
