from django import template

from ..services import fen_display

register = template.Library()


@register.filter
def fen(amount) -> str:
    """Fen as ¥ with two decimals: {{ 12345|fen }} → ¥123.45."""
    try:
        return fen_display(int(amount))
    except (TypeError, ValueError):
        return ""


@register.filter
def signed_fen(amount) -> str:
    """Like ``fen`` with an explicit + for credits."""
    try:
        amount = int(amount)
    except (TypeError, ValueError):
        return ""
    return ("+" if amount > 0 else "") + fen_display(amount)
