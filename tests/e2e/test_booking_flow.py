"""From sign-up to a running GPU slice in the browser, against the real stack: Django's live server, a
real Celery worker placing the booking, and a real node agent (simulated A100s, process runtime)
running it and reporting back over HTTP."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from apps.catalog.models import Region
from tests.agents.live import shanghai_shared_a100
from tests.core.test_celery import celery_worker_process  # noqa: F401 — a real Celery worker process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-staple-42"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMNTkeouB66zyz8Ui7WHQZ7J1qiHplt6Au+MHoNXxC9Y"
SSH_KEY_FINGERPRINT = "SHA256:b6/Da/DgNucxlNmBNqrY6YlJry2B8e0ZIVTiEWT8xdQ"  # as ssh-keygen -lf prints it
SLOW = 90_000  # ms: placement by the worker, the agent's start and its reports


@pytest.fixture
def shared_a100_fleet(live_server, tmp_path, celery_worker_process):  # noqa: F811
    """A provider's Shanghai cluster selling fractional A100 slices, with one real agent enrolled."""
    provider, fleet = shanghai_shared_a100(server_url=live_server.url, state_root=tmp_path,
                                           hostname="sh-a100s-01", interval=0.5)
    yield provider
    fleet.close()


def _submit(page: Page) -> None:
    page.locator("main form button[type=submit]").last.click()


def _sign_up_and_create_organization(page: Page, email: str) -> None:
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    _submit(page)
    expect(page.locator("main")).to_contain_text("Verify")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    _submit(page)  # confirm the address: allauth signs the user in
    page.goto("/organizations/new/")
    page.check("input[name=kind][value=customer]")
    page.fill("input[name=name]", "NewCo Vision")
    _submit(page)
    expect(page.locator(".side-org")).to_contain_text("NewCo Vision")


def test_a_new_customer_books_a_quarter_a100_watches_it_run_and_stops_it(page: Page, shared_a100_fleet, tmp_path):
    _sign_up_and_create_organization(page, "ada@newco.example")
    # Her SSH key first: the instance she books installs it.
    page.goto("/account/ssh-keys/")
    page.fill("#id_name", "laptop")
    page.fill("#id_public_key", SSH_KEY + " ada@laptop")
    _submit(page)
    expect(page.locator("#ssh-keys")).to_contain_text(SSH_KEY_FINGERPRINT)

    page.goto("/market/")
    row = page.locator("tr[data-model=nvidia-a100-80gb][data-region=cn-shanghai]")
    expect(row).to_contain_text("2 of 2 cards")
    row.get_by_role("link", name="25 %").click()

    expect(page.locator("#id_gpu_percent")).to_have_value("25")
    page.fill("#id_name", "quarter-a100")
    expect(page.locator("#estimate")).to_contain_text("¥3.6750/h")  # a quarter of ¥14.70
    page.click("#book-button")

    expect(page.locator("#workload-state")).to_have_text("Running", timeout=SLOW)
    expect(page.locator("#placement")).to_contain_text("sh-a100s-01")
    expect(page.locator("#placement")).to_contain_text("25 % compute")
    expect(page.locator("#ssh-command")).to_have_text(re.compile(r"^ssh -p \d+ tidegrid@sh-a100s-01$"))
    expect(page.locator("#jupyter-url")).to_have_text(re.compile(r"^http://sh-a100s-01:\d+/lab\?token=\S{20,}$"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("button[data-copy=ssh-command]")
    expect(page.locator("button[data-copy=ssh-command]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("#ssh-command").inner_text()
    [authorized_keys] = tmp_path.glob("sh-a100s-01/work/*/.ssh/authorized_keys")
    assert authorized_keys.read_text() == SSH_KEY + "\n"
    expect(page.locator("#usage-chart")).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"), timeout=SLOW)
    # The slice's own readings, as its agent attributes them, not the whole shared card.
    expect(page.locator("#usage-chart")).to_have_attribute("data-source", "slice")

    page.click("#stop-button")
    expect(page.locator("#workload-state")).to_have_text("Stopped", timeout=SLOW)
    expect(page.locator("#workload-timeline")).to_contain_text("stop requested by ada@newco.example")


def test_a_batch_job_runs_to_completion_and_shows_its_exit_code_and_log(page: Page, shared_a100_fleet):
    _sign_up_and_create_organization(page, "grace@newco.example")

    page.goto("/workloads/new/")
    page.fill("#id_name", "train-epoch")
    page.check("input[name=kind][value=batch]")
    page.fill("#id_command", "sh -c 'echo epoch 1 loss=0.42; echo training finished'")
    page.select_option("#id_accelerator_models", "nvidia-a100-80gb")
    page.check("input[name=shape][value=fractional]")
    page.fill("#id_gpu_percent", "50")
    page.select_option("#id_region", value=str(Region.objects.get(code="cn-shanghai").pk))
    page.click("#book-button")

    expect(page.locator("#workload-state")).to_have_text("Succeeded", timeout=SLOW)
    expect(page.locator("#exit-code")).to_have_text("Exit code 0")
    expect(page.locator("#log-tail")).to_contain_text("training finished")
