"""A real Celery worker process runs the periodic jobs against the test database."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from apps.tenancy.models import Invitation
from apps.tenancy.services import invitation_create
from tidegrid.celery import app

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("placement", "telemetry", "billing", "default")


@pytest.fixture
def celery_worker_process(tmp_path):
    """A real worker on the test database. It starts with empty queues (tasks earlier tests queued name rows
    that are gone; each fails with a traceback) and logs to a file: an unread pipe fills up with those,
    blocks the worker in a write with its database connection open, it outlives its test, and the test
    database cannot be dropped at the end of the run ("database is being accessed by other users")."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tidegrid.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    with app.connection_for_write() as broker:
        for queue in QUEUES:
            broker.default_channel.queue_purge(queue)
    log = (tmp_path / "celery-worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tidegrid", "worker", "-Q", ",".join(QUEUES),
         "-P", "solo", "--loglevel", "WARNING", "-n", f"test-{os.getpid()}@%h", "--without-mingle",
         "--without-gossip"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:  # never leave it holding a connection to the test database
        worker.kill()
        worker.wait(timeout=10)
    finally:
        log.close()


def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(app.tasks)
    assert {"tenancy.invitations_expire", "audit.chain_verify"} <= scheduled


def test_task_routes_send_work_to_the_domain_queues():
    router = app.amqp.router
    assert router.route({}, "scheduling.place_pending")["queue"].name == "placement"
    assert router.route({}, "billing.post_charges")["queue"].name == "billing"
    assert router.route({}, "tenancy.invitations_expire")["queue"].name == "default"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_expires_overdue_invitations(tenant, celery_worker_process):
    invitation, _token = invitation_create(actor=tenant.actor("admin"), organization=tenant.organization,
                                           email="late@example.com", role="member")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    result = app.send_task("tenancy.invitations_expire")
    assert result.get(timeout=120) == 1

    invitation.refresh_from_db()
    assert invitation.state == Invitation.State.EXPIRED


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_verifies_the_audit_chain(tenant, celery_worker_process):
    assert app.send_task("audit.chain_verify").get(timeout=120) == "intact"
