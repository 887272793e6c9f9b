from django.utils.functional import SimpleLazyObject

from .access import Actor, memberships_of

SESSION_KEY = "active_organization_id"


def _active_membership(request):
    if not request.user.is_authenticated:
        return None
    memberships = memberships_of(Actor(user=request.user))
    wanted = request.session.get(SESSION_KEY)
    membership = memberships.filter(organization_id=wanted).first() if wanted else None
    # Fall back to the first organization so a user who left one is never stuck on a dead id.
    return membership or memberships.order_by("created_at").first()


class ActiveOrganizationMiddleware:
    """Portal pages act on one organization at a time, chosen by the user and kept in the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.active_membership = SimpleLazyObject(lambda: _active_membership(request))
        return self.get_response(request)
