from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VouchersConfig(AppConfig):
    name = "apps.vouchers"
    label = "vouchers"
    verbose_name = _("Compute vouchers")

    def ready(self) -> None:
        from apps.ledger import services as ledger

        from . import funding

        # The vouchers' accounts may not go below zero, like a wallet; the ledger charges through us.
        ledger.FLOORED_KINDS.update({funding.GRANT_KIND, funding.BUDGET_KIND})
        if funding.voucher_funding not in ledger.FUNDING_PLANNERS:
            ledger.FUNDING_PLANNERS.append(funding.voucher_funding)
        if funding.voucher_reversal not in ledger.REVERSAL_HOOKS:
            ledger.REVERSAL_HOOKS.append(funding.voucher_reversal)
