from django import template

from apps.core.reasons import reason_localize

register = template.Library()


@register.simple_tag
def localized_reason(data, text):
    """{% localized_reason event.reason_data event.reason %}: the reason in the reader's language."""
    return reason_localize(data, fallback=text)
