from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.tenancy.access import Actor
from apps.tenancy.models import Organization, Role
from apps.tenancy.services import api_key_create, organization_create
from tests.factories import MembershipFactory, ProviderProfileFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_cache():
    """Rate-limit counters live in Redis; each test starts from zero."""
    cache.clear()
    yield


@dataclass
class Tenant:
    """An organization with one user per role, ready to act."""

    organization: Organization
    owner: object
    admin: object
    member: object
    viewer: object

    def actor(self, role: str = "owner") -> Actor:
        return Actor(user=getattr(self, role))


def make_tenant(kind: str = Organization.Kind.CUSTOMER, name: str = "Acme AI", *,
                vetting: str | None = "approved") -> Tenant:
    """``vetting``: a provider's vetting state (approved by default, so its capacity is sold; None for
    a provider that has not filled in its record yet, as after sign-up)."""
    owner = UserFactory()
    organization = organization_create(actor=Actor(user=owner), kind=kind, name=name) if kind != "government" else None
    if organization is None:
        staff = UserFactory(is_staff=True)
        organization = organization_create(actor=Actor(user=staff), kind=kind, name=name)
        organization.memberships.filter(user=staff).update(user=owner)
    if kind == Organization.Kind.PROVIDER and vetting is not None:
        ProviderProfileFactory(organization=organization, state=vetting)
    roles = {}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        roles[role.value] = MembershipFactory(organization=organization, role=role).user
    return Tenant(organization, owner, roles["admin"], roles["member"], roles["viewer"])


@pytest.fixture
def tenant(db) -> Tenant:
    return make_tenant(name="Acme AI")


@pytest.fixture
def other_tenant(db) -> Tenant:
    return make_tenant(name="Rival Robotics")


@pytest.fixture
def as_user(client):
    """as_user(user, organization=None) → the test client signed in, working in that organization."""
    from apps.tenancy.middleware import SESSION_KEY

    def login(user, organization=None):
        client.force_login(user)
        if organization is not None:
            session = client.session
            session[SESSION_KEY] = str(organization.id)
            session.save()
        return client

    return login


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def api_as():
    """api_as(user) → an APIClient signed in as that user (session auth)."""

    def build(user):
        client = APIClient()
        client.force_login(user)
        return client

    return build


@pytest.fixture
def key_client():
    """key_client(tenant, role) → an APIClient that authenticates with a fresh API key of that role."""

    def build(tenant: Tenant, role: str = Role.MEMBER):
        _key, plaintext = api_key_create(actor=tenant.actor("owner"), organization=tenant.organization,
                                         name=f"{role} key", role=role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plaintext}")
        return client

    return build


@pytest.fixture
def provider(db) -> Tenant:
    return make_tenant(kind="provider", name="East Compute")


@pytest.fixture
def other_provider(db) -> Tenant:
    return make_tenant(kind="provider", name="West Compute")


@pytest.fixture
def unvetted_provider(db) -> Tenant:
    """A provider straight after sign-up: it may register clusters and enroll nodes, nothing is sold."""
    return make_tenant(kind="provider", name="Newcomer Compute", vetting=None)


@pytest.fixture
def customer(db) -> Tenant:
    return make_tenant(kind="customer", name="Placement Customer")


@pytest.fixture
def cluster(provider):
    """A bare-metal cluster of ``provider`` in Shanghai."""
    from apps.catalog.models import Region
    from apps.catalog.services import cluster_create

    return cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="sh-a",
                          region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
