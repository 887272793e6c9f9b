"""The demo world that `make run` loads: one organization and one login per persona.

Idempotent: everything is looked up by a natural key first, so running it twice changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone as django_timezone

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
        if kind == Organization.Kind.CUSTOMER:
            _demo_wallet_credit(organization)
        if kind == Organization.Kind.PROVIDER:
            _demo_provider_vetted(organization, user=user, staff=staff)
        logins.append(DemoLogin(persona, email, organization.name))
    logins.append(DemoLogin("platform staff", STAFF_EMAIL, None))
    _demo_vouchers()
    return logins


DEMO_PROVIDER_VETTING = {"contact_name": "王工", "contact_phone": "+86 512 6666 0100",
                         "contact_email": "provider@demo.tidegrid.cn", "bank_name": "中国工商银行苏州工业园区支行",
                         "bank_account_name": "华东算力枢纽有限公司", "bank_account_number": "1102020109000012345"}


def _demo_provider_vetted(organization: Organization, *, user, staff) -> None:
    """The demo provider went through vetting like any other (filled in, submitted, approved by the demo
    staff), so the demo fleet is on sale. A record staff later suspended stays suspended."""
    from apps.catalog.models import ProviderProfile
    from apps.catalog.selectors import provider_profile
    from apps.catalog.services import provider_approve, provider_profile_save, provider_profile_submit

    profile = provider_profile(organization=organization)
    if profile.state in (ProviderProfile.State.APPROVED, ProviderProfile.State.SUSPENDED):
        return
    if profile.state != ProviderProfile.State.PENDING:
        provider_profile_save(actor=Actor(user=user), organization=organization,
                              credit_code=organization.credit_code, **DEMO_PROVIDER_VETTING)
        provider_profile_submit(actor=Actor(user=user), organization=organization)
    provider_approve(actor=Actor(user=staff), organization=organization)


# Voucher programmes of the demo government (figures after Shanghai's and Hangzhou's public policies, see
# docs/vouchers.md): name, Chinese name, budget, taper basis, steps, annual cap.
DEMO_PROGRAMS = [
    ("Shanghai Compute Vouchers 2026", "上海市算力券（2026）", 5_000_000_000, "grant_age",
     [{"rate_bp": 5000, "starts_after_months": 0}, {"rate_bp": 3000, "starts_after_months": 12},
      {"rate_bp": 2000, "starts_after_months": 24}, {"rate_bp": 0, "starts_after_months": 36},
      {"rate_bp": 10000, "starts_after_months": 0, "size_class": "startup"},
      {"rate_bp": 3000, "starts_after_months": 12, "size_class": "startup"}], 200_000_000),
    ("Shanghai Domestic Chip Vouchers", "上海市国产算力券", 800_000_000, "calendar",
     [{"rate_bp": 2000, "starts_on": "2026-01-01"},
      {"rate_bp": 3000, "starts_on": "2026-01-01", "hardware_class": "domestic"},
      {"rate_bp": 1000, "starts_on": "2027-07-01"},
      {"rate_bp": 2000, "starts_on": "2027-07-01", "hardware_class": "domestic"}], 800_000_000),
]
DEMO_GRANT_FEN = 20_000_000  # ¥200,000 for the demo customer from the first programme


def _demo_vouchers() -> None:
    """The demo government's two programmes (published, open) and the demo customer's approved grant.
    Looked up by name first, so loading twice changes nothing."""
    from datetime import date, datetime

    from apps.vouchers import services as vouchers
    from apps.vouchers.models import Application, Program

    government = Organization.objects.filter(kind=Organization.Kind.GOVERNMENT, name=DEMO_ORGS[2][2]).first()
    customer = Organization.objects.filter(kind=Organization.Kind.CUSTOMER, name=DEMO_ORGS[0][2]).first()
    if government is None or customer is None:
        return
    operator = Actor(user=_user(DEMO_ORGS[2][1]))
    programs = []
    for name, name_zh, budget, basis, steps, cap in DEMO_PROGRAMS:
        program = Program.objects.filter(organization=government, name=name).first()
        if program is None:
            program = vouchers.program_create(actor=operator, organization=government, name=name, name_zh=name_zh,
                                              budget_fen=budget, valid_from=date(2026, 1, 1),
                                              valid_until=date(2029, 1, 1))
            parsed = [{**step, "starts_on": date.fromisoformat(step["starts_on"])} if "starts_on" in step else step
                      for step in steps]
            version = vouchers.rule_version_create(
                actor=operator, program=program, taper_basis=basis, steps=parsed, annual_cap_fen=cap,
                effective_from=datetime(2026, 1, 1, tzinfo=django_timezone.get_default_timezone()))
            vouchers.rule_version_publish(actor=operator, version=version, allow_past=True)
            program = vouchers.program_transition(actor=operator, program=program, action="open")
        programs.append(program)
    first = programs[0]
    if not Application.objects.filter(program=first, organization=customer).exists():
        applicant = Actor(user=_user(DEMO_ORGS[0][1]))
        application = vouchers.application_submit(
            actor=applicant, program=first, organization=customer, requested_fen=DEMO_GRANT_FEN,
            description="Vision inspection models for the Lingang production lines (training and inference).")
        vouchers.application_decide(actor=operator, application=application, decision="approve",
                                    reason="Local manufacturer, compute runs in Shanghai.", amount_fen=DEMO_GRANT_FEN,
                                    starts_on=date(2026, 3, 1))


DEMO_WALLET_CREDIT_FEN = 200_000


def _demo_wallet_credit(organization: Organization) -> None:
    """¥2,000 of promotional credit, once, so the demo customer's work is not stopped for lack of funds
    (top-ups need Stripe keys). Posted from platform revenue as a contra entry, like any promotion."""
    from apps.ledger.models import Account, LedgerTransaction
    from apps.ledger.services import account_get_or_create, platform_account, transaction_post

    wallet = account_get_or_create(organization=organization, kind=Account.Kind.CUSTOMER_CASH)
    transaction_post(idempotency_key=f"demo:welcome-credit:{organization.pk}", kind=LedgerTransaction.Kind.ADJUSTMENT,
                     memo="Demo welcome credit", organization=organization,
                     lines=[(platform_account(Account.Kind.PLATFORM_REVENUE), -DEMO_WALLET_CREDIT_FEN),
                            (wallet, DEMO_WALLET_CREDIT_FEN)])


# The simulated fleet `make run` starts: per provider cluster, how many nodes of which devices.
DEMO_FLEET = [
    # cluster name, region, kind, hostname prefix, nodes, devices per node (catalog code:count)
    # Device names as the drivers report them; the server matches them to the catalog.
    ("Lingang AZ-1", "cn-shanghai", "bare_metal", "sh-a100-", 2, ["NVIDIA A100-SXM4-80GB:8"]),
    ("Lingang AZ-1", "cn-shanghai", "bare_metal", "sh-910b-", 1, ["Ascend910B3:8"]),
    ("Lingang AZ-2", "cn-shanghai", "kubernetes", "sh-a100s-", 1, ["NVIDIA A100-SXM4-80GB:8"]),
    ("Ulanqab West-1", "cn-ulanqab", "kubernetes", "wlcb-h20-", 2, ["NVIDIA H20:8"]),
    ("Ulanqab West-1", "cn-ulanqab", "kubernetes", "wlcb-t4-", 1, ["Tesla T4:4"]),
]
# Clusters whose device plugin shares cards by compute share (HAMi-style) instead of the chip default:
# AZ-2's A100s sell "25 % of an A100" slices, AZ-1's sell MIG profiles.
DEMO_CLUSTER_SHARING = {"Lingang AZ-2": "fractional"}


@dataclass(frozen=True)
class DemoFleetGroup:
    cluster: str
    token_file: str
    hostname_prefix: str
    nodes: int
    devices: list


DEMO_TOKEN_TTL_HOURS = 24


@transaction.atomic
def demo_fleet_tokens(*, token_dir: Path) -> list[DemoFleetGroup]:
    """Clusters of the demo provider and an enrollment token per group of simulated nodes.

    Each token is kept in ``token_dir/<prefix>.token`` (mode 0600) and handed to the agents as a file, never on
    their command line. A kept token that is still valid for another hour is reused, so loading the demo again
    mints nothing; a new one is minted only where the file is missing or its token expired or was revoked.
    Agents keep their credential in their state folder, so once enrolled they do not use the token again. The
    provider's other open tokens are revoked so only the current ones can enroll.
    """
    from apps.catalog.models import Cluster
    from apps.catalog.reference import reference_data_sync
    from apps.catalog.services import cluster_create
    from apps.telemetry.models import BootstrapToken
    from apps.telemetry.services import bootstrap_token_create, bootstrap_token_usable

    reference_data_sync()
    provider_user = get_user_model().objects.get(email="provider@demo.tidegrid.cn")
    provider = Organization.objects.get(name="East China Compute Hub", kind=Organization.Kind.PROVIDER)
    actor = Actor(user=provider_user)
    token_dir.mkdir(parents=True, exist_ok=True)
    groups, kept_ids = [], []
    for cluster_name, region_code, kind, prefix, nodes, devices in DEMO_FLEET:
        cluster = Cluster.objects.filter(organization=provider, name=cluster_name).first() or cluster_create(
            actor=actor, organization=provider, name=cluster_name, region=Region.objects.get(code=region_code),
            kind=kind, gpu_sharing=DEMO_CLUSTER_SHARING.get(cluster_name, "chip_default"))
        token_file = token_dir / f"{prefix.rstrip('-')}.token"
        kept = token_file.read_text().strip() if token_file.exists() else ""
        token = bootstrap_token_usable(plaintext=kept, cluster=cluster, for_at_least=timedelta(hours=1)) \
            if kept else None
        if token is None:
            token, plaintext = bootstrap_token_create(actor=actor, cluster=cluster, max_uses=nodes,
                                                      ttl_hours=DEMO_TOKEN_TTL_HOURS)
            _secret_file_write(token_file, plaintext + "\n")
        kept_ids.append(token.pk)
        groups.append(DemoFleetGroup(cluster_name, str(token_file), prefix, nodes, devices))
    BootstrapToken.objects.filter(organization=provider, revoked_at__isnull=True).exclude(
        pk__in=kept_ids).update(revoked_at=django_timezone.now())
    return groups


def _secret_file_write(path: Path, text: str) -> None:
    """Write a file only its owner can read (created 0600, never world-readable in between)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


# --- oversight: a month of history for the government persona (issue 13) --------------------------

DEMO_ARCHIVE_CLUSTER = "Lingang Archive"
DEMO_OTHER_REGION_CUSTOMER = "Beijing Vision Technology Co., Ltd."
# One KPI in each colour on the government dashboard, whatever the live simulated fleet adds today.
DEMO_TARGETS = {"in_service_rate": (0.90, 0.80), "allocation_rate": (0.75, 0.01), "utilization": (0.90, 0.80)}


def demo_oversight_history(*, days: int = 30, now=None) -> bool:
    """A month of observed history in Shanghai for the demo government: an archive cluster of the demo
    provider (2 nodes × 2 A100, retired at the end so no new work lands there) with a maintenance window,
    an outage, a quarantined card, whole-card, fractional and idle allocations of a local and a Beijing
    customer, a reading per card per minute; the days rolled up, targets set, the alert check run.
    Idempotent: does nothing when the archive cluster exists. Returns whether it created the history."""
    import random
    from datetime import timedelta

    from apps.booking.models import Workload
    from apps.catalog.models import AcceleratorModel, Cluster, Device, Node
    from apps.oversight.models import DeviceStateSpan, KpiTarget
    from apps.oversight.periods import day_bounds, today
    from apps.oversight.rollups import day_rollup
    from apps.oversight.services import targets_check
    from apps.scheduling.models import Allocation
    from apps.telemetry.models import DeviceSample

    provider = Organization.objects.get(name="East China Compute Hub", kind=Organization.Kind.PROVIDER)
    if Cluster.objects.filter(organization=provider, name=DEMO_ARCHIVE_CLUSTER).exists():
        return False
    rng = random.Random(2026)  # noqa: S311 — demo readings, not secrets
    shanghai = Region.objects.get(code="cn-shanghai")
    government = Organization.objects.get(name="Shanghai Compute Voucher Office", kind=Organization.Kind.GOVERNMENT)
    local = Organization.objects.get(name="Lingang Intelligent Manufacturing Co., Ltd.",
                                     kind=Organization.Kind.CUSTOMER)
    other = Organization.objects.filter(name=DEMO_OTHER_REGION_CUSTOMER).first() or Organization.objects.create(
        kind=Organization.Kind.CUSTOMER, name=DEMO_OTHER_REGION_CUSTOMER,
        registered_region=Region.objects.get(code="cn-beijing"), industry="ai", size_class="large")
    a100 = AcceleratorModel.objects.get(code="nvidia-a100-80gb")
    now = now or django_timezone.now()
    first_day = today() - timedelta(days=days)
    start = day_bounds(first_day)[0]
    with transaction.atomic():
        cluster = Cluster.objects.create(organization=provider, name=DEMO_ARCHIVE_CLUSTER, region=shanghai)
        devices = []
        for n in range(2):
            node = Node.objects.create(organization=provider, cluster=cluster, hostname=f"sh-archive-{n + 1}")
            for index in range(2):
                devices.append(Device.objects.create(
                    organization=provider, node=node, uuid=f"GPU-demo-archive-{n}-{index}", index=index, model=a100,
                    reported_name="NVIDIA A100-SXM4-80GB", memory_total_mib=a100.memory_mib,
                    free_memory_mib=a100.memory_mib))
        hours = lambda day, hour: start + timedelta(days=day, hours=hour)  # noqa: E731
        S = DeviceStateSpan.State
        windows = {  # device index → [(state, start, end)] besides in service
            0: [(S.MAINTENANCE, hours(9, 8), hours(9, 14))], 1: [(S.MAINTENANCE, hours(9, 8), hours(9, 14))],
            2: [(S.UNREACHABLE, hours(19, 2), hours(19, 5))], 3: [(S.QUARANTINE, hours(14, 6), hours(14, 18))],
        }
        spans = []
        for i, device in enumerate(devices):
            cursor = start
            for state, w0, w1 in windows[i]:
                spans += [DeviceStateSpan(device=device, state=S.IN_SERVICE, started_at=cursor, ended_at=w0),
                          DeviceStateSpan(device=device, state=state, started_at=w0, ended_at=w1)]
                cursor = w1
            spans.append(DeviceStateSpan(device=device, state=S.IN_SERVICE, started_at=cursor, ended_at=now))
        DeviceStateSpan.objects.bulk_create(spans)
        end = hours(days + 1, 0)
        plan = [(0, local, 1000, hours(0, 9), end), (1, other, 500, hours(2, 0), hours(25, 0)),
                (2, local, 250, hours(1, 0), end), (3, other, 1000, hours(3, 0), hours(10, 0)),
                (3, local, 1000, hours(16, 0), hours(22, 12))]
        busy = {0: 0.8, 1: 0.45, 2: 0.0, 3: 0.9}  # device index → typical reading while allocated (2 sits idle)
        for number, (i, customer, milli, a0, a1) in enumerate(plan):
            shape = {"gpu_count": 1} if milli == 1000 else {"gpu_milli": milli}
            workload = Workload.objects.create(organization=customer, name=f"archive-run-{number + 1}",
                                               preferred_region=shanghai, state=Workload.State.SUCCEEDED, **shape)
            allocation = Allocation.objects.create(workload=workload, organization=customer, node=devices[i].node,
                                                   device=devices[i], compute_milli=milli, memory_mib=8192,
                                                   released_at=min(a1, now))
            Allocation.objects.filter(pk=allocation.pk).update(created_at=a0)
        samples = []
        for i, device in enumerate(devices):
            moment, seq = start, 0
            while moment < now:
                seq += 1
                allocated = any(j == i and a0 <= moment < a1 for j, _c, _m, a0, a1 in plan)
                reading = max(0.0, min(100.0, rng.gauss(busy[i] * 100, 8))) if allocated else rng.uniform(0, 2)
                if not (windows[i][0][1] <= moment < windows[i][0][2] and windows[i][0][0] == S.UNREACHABLE):
                    samples.append(DeviceSample(device=device, node=device.node, seq=seq, collected_at=moment,
                                                received_at=moment, utilization_pct=round(reading, 1),
                                                memory_used_mib=8192 if allocated else 0,
                                                power_w=round(90 + 3.2 * reading + rng.uniform(-10, 10), 1)))
                moment += timedelta(seconds=60)
        DeviceSample.objects.bulk_create(samples, batch_size=10_000)
        Node.objects.filter(cluster=cluster).update(state=Node.State.DECOMMISSIONED)
    for offset in range(days + 1):
        day_rollup(day=first_day + timedelta(days=offset))
    for kpi, (green, amber) in DEMO_TARGETS.items():
        KpiTarget.objects.update_or_create(organization=government, kpi=kpi,
                                           defaults={"green_at": green, "amber_at": amber})
    targets_check(organization=government)
    return True
