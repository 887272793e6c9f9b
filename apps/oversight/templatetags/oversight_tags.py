from django import template

from ..labels import KPI_LABELS, change_display, kpi_display

register = template.Library()


@register.filter
def kpi(value, name: str) -> str:
    return kpi_display(name, value)


@register.filter
def kpi_change(value, name: str) -> str:
    return change_display(name, value)


@register.filter
def kpi_label(name: str) -> str:
    return str(KPI_LABELS.get(name, name))


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None
