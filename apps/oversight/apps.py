from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    """What government operators audit: consumption KPIs of the compute in their jurisdiction, from
    device state spans the server observed, allocations, and the agents' readings (daily rollups)."""

    name = "apps.oversight"
    label = "oversight"
    verbose_name = _("Oversight")
