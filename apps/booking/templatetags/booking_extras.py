"""Small display helpers for the booking pages."""

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def gib(mib) -> str:
    """81920 → "80 GB" (card memory as vendors print it)."""
    try:
        return f"{int(mib) // 1024} GB"
    except (TypeError, ValueError):
        return ""


@register.filter
def percent_of_milli(milli) -> int:
    """250 milli-GPU → 25 (%)."""
    try:
        return int(milli) // 10
    except (TypeError, ValueError):
        return 0


@register.filter
def region_label(region) -> str:
    return region.display_name(get_language()) if region is not None else ""
