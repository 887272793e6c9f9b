import contextlib
import json
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from apps.accounts.models import User
from apps.portal.demo import DEMO_PASSWORD, demo_world_load
from apps.tenancy.models import Membership, Organization

pytestmark = pytest.mark.django_db


def test_loading_the_demo_world_twice_does_not_duplicate_anything():
    demo_world_load()
    counts = (User.objects.count(), Organization.objects.count(), Membership.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Organization.objects.count(), Membership.objects.count()) == counts
    assert counts == (4, 3, 3)


def test_the_demo_customer_starts_with_welcome_credit_once():
    from apps.ledger.selectors import wallet_balance

    demo_world_load()
    call_command("seed_demo")
    customer = Organization.objects.get(kind=Organization.Kind.CUSTOMER)
    assert wallet_balance(organization=customer) == 200_000  # ¥2,000, credited once


@pytest.mark.parametrize(("persona", "page_text"), [
    ("customer", "Book GPU slices"),
    ("provider", "enroll GPU nodes"),
    ("government", "Jurisdiction"),
])
def test_each_printed_persona_login_works_and_lands_on_its_dashboard(client, persona, page_text):
    logins = {login.persona: login for login in demo_world_load()}
    login = logins[persona]
    response = client.post("/accounts/login/", {"login": login.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    dashboard = client.get("/dashboard/", follow=True).content.decode()
    assert login.organization in dashboard
    assert page_text in dashboard


def test_the_staff_login_opens_the_admin(client):
    demo_world_load()
    client.post("/accounts/login/", {"login": "staff@demo.tidegrid.cn", "password": DEMO_PASSWORD})
    assert client.get("/admin/").status_code == 200


def test_government_demo_has_a_jurisdiction():
    demo_world_load()
    government = Organization.objects.get(kind="government")
    assert list(government.jurisdiction.values_list("code", flat=True)) == ["cn-shanghai"]


def test_loading_the_demo_fleet_twice_reuses_its_enrollment_tokens(tmp_path):
    from apps.portal.demo import DEMO_FLEET, demo_fleet_tokens
    from apps.telemetry.models import BootstrapToken

    demo_world_load()
    first = demo_fleet_tokens(token_dir=tmp_path)
    tokens = {group.hostname_prefix: Path(group.token_file).read_text() for group in first}
    second = demo_fleet_tokens(token_dir=tmp_path)
    assert {group.hostname_prefix: Path(group.token_file).read_text() for group in second} == tokens
    assert BootstrapToken.objects.count() == len(DEMO_FLEET)  # nothing new minted the second time
    assert not BootstrapToken.objects.filter(revoked_at__isnull=False).exists()
    assert all(Path(group.token_file).stat().st_mode & 0o777 == 0o600 for group in second)


def test_an_expiring_demo_token_is_replaced_and_revoked(tmp_path):
    from apps.portal.demo import DEMO_FLEET, demo_fleet_tokens
    from apps.telemetry.models import BootstrapToken

    demo_world_load()
    first = demo_fleet_tokens(token_dir=tmp_path)
    before = Path(first[0].token_file).read_text()
    stale = BootstrapToken.objects.get(prefix=before.split("_")[1])  # tgb_<prefix>_<secret>
    BootstrapToken.objects.filter(pk=stale.pk).update(expires_at=timezone.now() + timedelta(minutes=30))
    demo_fleet_tokens(token_dir=tmp_path)
    assert Path(first[0].token_file).read_text() != before
    assert BootstrapToken.objects.count() == len(DEMO_FLEET) + 1
    assert list(BootstrapToken.objects.filter(revoked_at__isnull=False)) == [stale]


def _process_tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                queue.extend(int(child) for child in (task / "children").read_text().split())
    return pids


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_make_run_fleet_keeps_tokens_and_credentials_off_every_command_line(live_server, tmp_path, monkeypatch):
    from apps.catalog.models import Node
    from apps.catalog.reference import reference_data_sync
    from apps.portal.demo import DEMO_FLEET
    from tests.agents.live import wait_for
    from tidegrid.demofleet import start_fleet

    reference_data_sync()  # what migrations load; transactional tests start from an emptied database
    demo_world_load()
    db = connection.settings_dict
    monkeypatch.setenv("DATABASE_URL", f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    fleet = start_fleet(live_server.url, tmp_path)  # exactly what `make run` (devstack) calls
    try:
        wait_for(lambda: Node.objects.count() == sum(group[4] for group in DEMO_FLEET), timeout=90,
                 what="every simulated node enrolled")
        secrets_ = [path.read_text().strip() for path in (tmp_path / "tokens").glob("*.token")]
        secrets_ += [json.loads(path.read_text())["credential"] for path in tmp_path.glob("*/*/state.json")]
        assert len(secrets_) == len(DEMO_FLEET) + Node.objects.count()
        command_lines = [Path(f"/proc/{pid}/cmdline").read_bytes().decode()
                         for process in fleet.values() for pid in _process_tree(process.pid)]
        assert len(command_lines) >= len(DEMO_FLEET)
        for secret in secrets_:
            assert secret and not any(secret in line for line in command_lines)
            assert not any(secret[:12] in line for line in command_lines)  # not even the public prefix part
    finally:
        for process in fleet.values():
            process.send_signal(signal.SIGTERM)
        for process in fleet.values():
            process.wait(timeout=30)


def test_the_government_demo_shows_a_month_of_oversight_history_with_a_kpi_in_each_colour(client):
    import re

    from apps.oversight.models import DeviceDay, KpiAlert
    from apps.portal.demo import demo_oversight_history

    demo_world_load()
    assert demo_oversight_history(days=30) is True
    days = DeviceDay.objects.values("day").distinct().count()
    assert demo_oversight_history(days=30) is False  # idempotent
    assert DeviceDay.objects.values("day").distinct().count() == days == 31
    assert KpiAlert.objects.filter(kpi="utilization").count() == 1
    client.post("/accounts/login/", {"login": "gov@demo.tidegrid.cn", "password": DEMO_PASSWORD})
    html = client.get("/oversight/").content.decode()
    statuses = dict(re.findall(r'data-kpi="(\w+)" data-status="(\w+)"', html))
    assert statuses["in_service_rate"] == "green"
    assert statuses["allocation_rate"] == "amber"
    assert statuses["utilization"] == "red"
    assert "kpi-alert" in html
