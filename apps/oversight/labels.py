"""Names of the KPIs and breakdown dimensions, in both languages, and how values are shown."""

from django.utils.translation import gettext_lazy as _

from oversight_verify.kpi import KPIS

KPI_LABELS = {
    "in_service_rate": _("In-service rate"),
    "maintenance_rate": _("In maintenance"),
    "quarantine_rate": _("Quarantined"),
    "unreachable_rate": _("Unreachable"),
    "allocation_rate": _("Allocation rate"),
    "utilization": _("Measured utilization"),
    "consumption_rate": _("Consumption rate (消纳率)"),
    "consumption_rate_local": _("Consumption rate, local enterprises"),
    "consumption_rate_other": _("Consumption rate, other regions"),
    "onboarded_pflops_days": _("Compute onboarded (FP16 PFLOPS-days)"),
    "delivered_pflops_days": _("Compute delivered (FP16 PFLOPS-days)"),
    "delivered_local_pflops_days": _("Delivered to local enterprises (PFLOPS-days)"),
    "delivered_other_pflops_days": _("Delivered to other regions (PFLOPS-days)"),
    "energy_kwh": _("Energy (kWh)"),
    "pflops_days_per_mwh": _("PFLOPS-days per MWh"),
    "share_of_delivered": _("Share of compute delivered"),
}

DIMENSION_LABELS = {
    "region": _("Region"),
    "provider": _("Provider"),
    "cluster": _("Cluster"),
    "node": _("Node"),
    "device": _("Device"),
    "vendor_class": _("Domestic or imported"),
    "model": _("Accelerator model"),
    "industry": _("Industry"),
    "size": _("Enterprise size"),
}

STATUS_LABELS = {"green": _("On target"), "amber": _("Near target"), "red": _("Below target"), "none": _("No target")}

# Columns of breakdown tables (device-side dimensions; industry and size show consumption only).
TABLE_KPIS = ("in_service_rate", "maintenance_rate", "quarantine_rate", "unreachable_rate", "allocation_rate",
              "utilization", "consumption_rate", "delivered_pflops_days", "energy_kwh", "pflops_days_per_mwh")
CONSUMER_TABLE_KPIS = ("delivered_pflops_days", "share_of_delivered", "consumption_rate",
                       "delivered_local_pflops_days", "delivered_other_pflops_days")


def unit_of(kpi: str) -> str:
    return "ratio" if kpi == "share_of_delivered" else KPIS.get(kpi, "")


def kpi_display(kpi: str, value) -> str:
    """The one way a KPI value is written on pages and in exports: rates in % with one decimal,
    PFLOPS-days with three decimals, energy in whole kWh with one decimal."""
    if value is None:
        return "—"
    unit = unit_of(kpi)
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "kwh":
        return f"{value:,.1f}"
    return f"{value:,.3f}"


def change_display(kpi: str, change) -> str:
    """Month-over-month change with its trend arrow: percentage points for rates, the difference
    otherwise."""
    if change is None:
        return "—"
    arrow = "▲" if change > 0 else "▼" if change < 0 else "→"
    if unit_of(kpi) == "ratio":
        return f"{arrow} {change * 100:+.1f} pp"
    return f"{arrow} {change:+,.3f}"
