"""The KPI formulas, from summed totals. One definition for the platform's dashboards and API and for
the offline verifier; docs/oversight.md writes them out.

Totals (all sums over device-days in scope):
  registered_s, in_service_s, maintenance_s, quarantine_s, unreachable_s   device-seconds per state
  allocated_share_s    Σ share of the card × seconds allocated while in service
  utilized_s           Σ utilization reading (0–1) × seconds covered while in service
  energy_j             Σ power reading (W) × seconds covered
  onboarded_tflops_s   Σ FP16 TFLOPS × registered seconds
  delivered_tflops_s   Σ FP16 TFLOPS × allocated share-seconds, and its split by where the consuming
  delivered_local_tflops_s / delivered_other_tflops_s   enterprise is registered (in the jurisdiction or not)
"""

from __future__ import annotations

TOTAL_FIELDS = (
    "registered_s", "in_service_s", "maintenance_s", "quarantine_s", "unreachable_s", "allocated_share_s",
    "utilized_s", "energy_j", "onboarded_tflops_s", "delivered_tflops_s", "delivered_local_tflops_s",
    "delivered_other_tflops_s",
)

# KPI key → unit. Rates are fractions (0.55 = 55 %).
KPIS = {
    "in_service_rate": "ratio",
    "maintenance_rate": "ratio",
    "quarantine_rate": "ratio",
    "unreachable_rate": "ratio",
    "allocation_rate": "ratio",
    "utilization": "ratio",
    "consumption_rate": "ratio",
    "consumption_rate_local": "ratio",
    "consumption_rate_other": "ratio",
    "onboarded_pflops_days": "pflops_days",
    "delivered_pflops_days": "pflops_days",
    "delivered_local_pflops_days": "pflops_days",
    "delivered_other_pflops_days": "pflops_days",
    "energy_kwh": "kwh",
    "pflops_days_per_mwh": "pflops_days_per_mwh",
}

# KPIs an operator may set a target for (all better when higher).
TARGETABLE = ("in_service_rate", "allocation_rate", "utilization", "consumption_rate", "consumption_rate_local",
              "pflops_days_per_mwh")

DOMESTIC_VENDORS = frozenset({"huawei", "iluvatar", "cambricon", "hygon"})

_TFLOPS_S_PER_PFLOPS_DAY = 1000.0 * 86400.0
_J_PER_KWH = 3.6e6


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def empty_totals() -> dict:
    return dict.fromkeys(TOTAL_FIELDS, 0.0)


def kpis_from_totals(totals: dict) -> dict:
    registered = totals["registered_s"]
    in_service = totals["in_service_s"]
    delivered = totals["delivered_tflops_s"] / _TFLOPS_S_PER_PFLOPS_DAY
    energy_kwh = totals["energy_j"] / _J_PER_KWH
    return {
        "in_service_rate": _ratio(in_service, registered),
        "maintenance_rate": _ratio(totals["maintenance_s"], registered),
        "quarantine_rate": _ratio(totals["quarantine_s"], registered),
        "unreachable_rate": _ratio(totals["unreachable_s"], registered),
        "allocation_rate": _ratio(totals["allocated_share_s"], in_service),
        "utilization": _ratio(totals["utilized_s"], in_service),
        "consumption_rate": _ratio(totals["delivered_tflops_s"], totals["onboarded_tflops_s"]),
        "consumption_rate_local": _ratio(totals["delivered_local_tflops_s"], totals["onboarded_tflops_s"]),
        "consumption_rate_other": _ratio(totals["delivered_other_tflops_s"], totals["onboarded_tflops_s"]),
        "onboarded_pflops_days": totals["onboarded_tflops_s"] / _TFLOPS_S_PER_PFLOPS_DAY,
        "delivered_pflops_days": delivered,
        "delivered_local_pflops_days": totals["delivered_local_tflops_s"] / _TFLOPS_S_PER_PFLOPS_DAY,
        "delivered_other_pflops_days": totals["delivered_other_tflops_s"] / _TFLOPS_S_PER_PFLOPS_DAY,
        "energy_kwh": energy_kwh,
        "pflops_days_per_mwh": _ratio(delivered, energy_kwh / 1000.0),
    }


def status_of(value: float | None, *, green_at: float, amber_at: float) -> str:
    """green / amber / red against a target; "none" when there is no value."""
    if value is None:
        return "none"
    if value >= green_at:
        return "green"
    if value >= amber_at:
        return "amber"
    return "red"


def close(a: float | None, b: float | None, *, rel: float = 1e-9, abs_: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)
