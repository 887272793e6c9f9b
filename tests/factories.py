import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from apps.catalog.models import ProviderProfile
from apps.tenancy.models import Membership, Organization, Role

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        self.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    kind = Organization.Kind.CUSTOMER
    name = factory.Sequence(lambda n: f"Enterprise {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class ProviderProfileFactory(factory.django.DjangoModelFactory):
    """A provider's vetting record, approved by default (its capacity is sold); pass ``state`` for others."""

    class Meta:
        model = ProviderProfile
        django_get_or_create = ("organization",)

    organization = factory.SubFactory(OrganizationFactory, kind=Organization.Kind.PROVIDER)
    state = ProviderProfile.State.APPROVED
    contact_name = "Li Lei"
    contact_phone = "+86 21 5555 0100"
    contact_email = factory.Sequence(lambda n: f"ops{n}@provider.example")
    bank_name = "中国工商银行上海张江支行"
    bank_account_name = factory.LazyAttribute(lambda o: o.organization.name)
    bank_account_number = "6222020200112233445"
