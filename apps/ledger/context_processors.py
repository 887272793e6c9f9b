from django.utils.functional import SimpleLazyObject


def low_balance(request):
    """``low_balance``: the active customer organization's Balance when it is below its warning threshold,
    else None. Lazy, so pages that never show the banner pay no query."""

    def compute():
        membership = getattr(request, "active_membership", None)
        if not membership or membership.organization.kind != "customer":
            return None
        from .selectors import balance_get

        balance = balance_get(organization=membership.organization)
        return balance if balance.low else None

    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"low_balance": SimpleLazyObject(compute)}
