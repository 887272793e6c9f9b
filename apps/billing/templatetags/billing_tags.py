from django import template

from ..funds import funds_status
from ..models import BillingProfile, UsageRecord

register = template.Library()


@register.inclusion_tag("billing/_funds_warning.html")
def funds_warning(organization):
    """The out-of-funds / runs-out-soon banner for a customer organization (nothing when all is well)."""
    if organization is None or getattr(organization, "kind", None) != "customer":
        return {"funds": None}
    # Shown on every page of a customer: two cheap queries decide whether there is anything to say.
    out = BillingProfile.objects.filter(organization=organization, out_of_funds_since__isnull=False).exists()
    if not out and not UsageRecord.objects.filter(organization=organization, ended_at__isnull=True).exists():
        return {"funds": None}
    return {"funds": funds_status(organization=organization)}


@register.filter
def cny(value) -> str:
    """A Decimal CNY rate without trailing zeros: 3.220000 → ¥3.22."""
    from ..quotes import num

    return f"¥{num(value)}" if value is not None else "—"


@register.filter
def pct(value) -> str:
    from ..quotes import pct_label

    return pct_label(value) if value is not None else "—"


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key)


@register.filter
def hours(windows) -> str:
    from ..quotes import hours_label

    return hours_label(windows or []) or "—"


@register.filter
def filesizeformat_mib(mib) -> str:
    return f"{int(mib) // 1024} GiB" if mib else "—"
