from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemetryConfig(AppConfig):
    """The agent channel: enrollment, credentials, heartbeats, device samples and rollups, liveness.
    (The assignments it carries belong to scheduling.)"""

    name = "apps.telemetry"
    label = "telemetry"
    verbose_name = _("Telemetry")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (forgets a retiring node's cached credential)
