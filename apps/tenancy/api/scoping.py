"""Base classes every organization-scoped API view derives from. They own tenant scoping: a subclass
declares the model's queryset and the minimum roles, and never writes its own get_queryset/get_object."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.tenancy.access import Actor, access_object, access_organization, actor_from_request
from apps.tenancy.models import Organization, Role


class ActorMixin:
    @property
    def actor(self) -> Actor:
        return actor_from_request(self.request)  # type: ignore[attr-defined]


class OrganizationScopedMixin(ActorMixin):
    """Views under /organizations/{organization_id}/…: the organization is resolved once, through the
    access helper, so a stranger's organization id is a 404 for every nested endpoint."""

    read_role: str = Role.VIEWER
    write_role: str = Role.ADMIN
    base_queryset: QuerySet | None = None

    def required_role(self) -> str:
        method = self.request.method  # type: ignore[attr-defined]
        return self.read_role if method in ("GET", "HEAD", "OPTIONS") else self.write_role

    @property
    def organization(self) -> Organization:
        if not hasattr(self, "_organization"):
            self._organization = access_organization(
                self.actor, self.kwargs["organization_id"], min_role=self.required_role()  # type: ignore[attr-defined]
            )
        return self._organization

    def get_queryset(self):
        assert self.base_queryset is not None, f"{type(self).__name__} must set base_queryset"
        if getattr(self, "swagger_fake_view", False):
            return self.base_queryset.none()
        return self.base_queryset.filter(organization=self.organization)

    def get_object(self):
        obj = access_object(self.actor, self.get_queryset(), self.kwargs["pk"], min_role=self.required_role())
        self.check_object_permissions(self.request, obj)  # type: ignore[attr-defined]
        return obj
