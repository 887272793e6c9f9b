from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SchedulingConfig(AppConfig):
    """Placement, allocations, and work dispatch: the assignments handed to node agents."""

    name = "apps.scheduling"
    label = "scheduling"
    verbose_name = _("Scheduling")

    def ready(self) -> None:
        from . import dispatch, receivers  # noqa: F401  (stops work on retiring nodes; follows agent reports)
