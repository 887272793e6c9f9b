from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (meters usage from what agents report about assignments)
