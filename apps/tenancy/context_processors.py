from .access import Actor, memberships_of


def active_organization(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = request.active_membership
    return {
        "active_membership": membership if membership else None,
        "active_organization": membership.organization if membership else None,
        "my_memberships": memberships_of(Actor(user=request.user)).order_by("organization__name"),
    }
