from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemetryConfig(AppConfig):
    """The agent channel: enrollment, credentials, heartbeats, device samples and rollups, assignments."""

    name = "apps.telemetry"
    label = "telemetry"
    verbose_name = _("Telemetry")
