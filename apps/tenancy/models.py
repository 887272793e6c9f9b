import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .uscc import validate_uscc


class Organization(models.Model):
    """A tenant. Every tenant-owned row elsewhere carries a foreign key to one of these."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer (enterprise)")
        PROVIDER = "provider", _("Compute provider")
        GOVERNMENT = "government", _("Government operator")

    class SizeClass(models.TextChoices):
        STARTUP = "startup", _("Startup")
        SME = "sme", _("Small or medium enterprise")
        LARGE = "large", _("Large enterprise")

    class Industry(models.TextChoices):
        AI = "ai", _("Artificial intelligence")
        INTERNET = "internet", _("Internet and software")
        MANUFACTURING = "manufacturing", _("Manufacturing")
        FINANCE = "finance", _("Finance")
        HEALTHCARE = "healthcare", _("Healthcare and life sciences")
        EDUCATION = "education", _("Education and research")
        AUTOMOTIVE = "automotive", _("Automotive")
        MEDIA = "media", _("Media and entertainment")
        ENERGY = "energy", _("Energy")
        PUBLIC = "public", _("Public sector")
        OTHER = "other", _("Other")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # Enterprise profile (used for eligibility of vouchers and for invoices / 发票).
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, blank=True, validators=[validate_uscc],
        help_text=_("统一社会信用代码, 18 characters, printed on the business licence."),
    )
    registered_region = models.ForeignKey(
        "catalog.Region", verbose_name=_("registered region"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="registered_organizations",
    )
    industry = models.CharField(_("industry"), max_length=20, choices=Industry.choices, blank=True)
    size_class = models.CharField(_("size class"), max_length=10, choices=SizeClass.choices, blank=True)
    invoice_title = models.CharField(_("invoice title"), max_length=200, blank=True)
    tax_id = models.CharField(_("tax id"), max_length=20, blank=True)

    # Government operators only: the regions whose compute they subsidise and audit.
    jurisdiction = models.ManyToManyField(
        "catalog.Region", verbose_name=_("jurisdiction"), blank=True, related_name="governing_organizations"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(credit_code=""), name="organization_credit_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["customer", "provider", "government"]), name="organization_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")
    AUDITOR = "auditor", _("Auditor")


# What each role may do. Auditors (government) read everything of their organization, change nothing.
ROLE_RANK = {Role.VIEWER: 10, Role.AUDITOR: 15, Role.MEMBER: 20, Role.ADMIN: 30, Role.OWNER: 40}


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(_("joined at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class Invitation(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"], condition=Q(state="pending"),
                name="invitation_one_pending_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organization} ({self.state})"


class ApiKey(models.Model):
    """An organization's key for the REST API. Only a SHA-256 of the secret is stored; the full key is
    shown once, at creation."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_keys")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
