from django import template

from apps.core.reasons import reason_localize, reasons_localize

register = template.Library()


@register.simple_tag
def localized_reason(data, text):
    """{% localized_reason event.reason_data event.reason %}: the reason in the reader's language."""
    return reason_localize(data, fallback=text)


@register.simple_tag
def localized_reasons(data, text):
    """{% localized_reasons workload.pending_reason_data workload.pending_reason %}: why it waits."""
    return reasons_localize(data, fallback=text)
