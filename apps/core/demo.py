"""The demo world that `make run` loads: one organization and one login per persona.

Idempotent: everything is looked up by a natural key first, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction

from apps.catalog.models import Region
from apps.tenancy.access import Actor
from apps.tenancy.models import Membership, Organization, Role
from apps.tenancy.services import organization_create
from apps.tenancy.uscc import uscc_check_character

DEMO_PASSWORD = "TideGrid-demo-2026"  # noqa: S105 — printed by `make run`; demo data only


@dataclass(frozen=True)
class DemoLogin:
    persona: str
    email: str
    organization: str | None


def _credit_code(first17: str) -> str:
    return first17 + uscc_check_character(first17)


DEMO_ORGS = [
    # persona, e-mail, organization name, kind, profile
    ("customer", "customer@demo.tidegrid.cn", "Lingang Intelligent Manufacturing Co., Ltd.", Organization.Kind.CUSTOMER,
     {"credit_code": _credit_code("91310115MA1K4TGD0"), "industry": "manufacturing", "size_class": "sme",
      "invoice_title": "上海临港智能制造有限公司", "tax_id": _credit_code("91310115MA1K4TGD0"),
      "region": "cn-shanghai"}),
    ("provider", "provider@demo.tidegrid.cn", "East China Compute Hub", Organization.Kind.PROVIDER,
     {"credit_code": _credit_code("91320594MA20HUB00"), "industry": "internet", "size_class": "large",
      "invoice_title": "华东算力枢纽有限公司", "tax_id": "", "region": "cn-suzhou"}),
    ("government", "gov@demo.tidegrid.cn", "Shanghai Compute Voucher Office", Organization.Kind.GOVERNMENT,
     {"credit_code": "", "industry": "public", "size_class": "", "invoice_title": "", "tax_id": "",
      "region": "cn-shanghai", "jurisdiction": ["cn-shanghai"]}),
]
STAFF_EMAIL = "staff@demo.tidegrid.cn"


def _user(email: str, *, staff: bool = False):
    User = get_user_model()
    user, created = User.objects.get_or_create(email=email, defaults={"is_staff": staff, "is_superuser": staff})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


@transaction.atomic
def demo_world_load() -> list[DemoLogin]:
    staff = _user(STAFF_EMAIL, staff=True)
    logins = []
    for persona, email, name, kind, profile in DEMO_ORGS:
        user = _user(email)
        organization = Organization.objects.filter(name=name, kind=kind).first()
        if organization is None:
            profile = dict(profile)
            region = Region.objects.get(code=profile.pop("region"))
            jurisdiction = list(Region.objects.filter(code__in=profile.pop("jurisdiction", [])))
            # Government organizations are created by staff, then handed to their owner.
            creator = staff if kind == Organization.Kind.GOVERNMENT else user
            organization = organization_create(actor=Actor(user=creator), kind=kind, name=name,
                                               registered_region=region, jurisdiction=jurisdiction, **profile)
            if creator != user:
                Membership.objects.update_or_create(organization=organization, user=user,
                                                    defaults={"role": Role.OWNER})
                Membership.objects.filter(organization=organization, user=staff).delete()
        logins.append(DemoLogin(persona, email, organization.name))
    logins.append(DemoLogin("platform staff", STAFF_EMAIL, None))
    return logins
