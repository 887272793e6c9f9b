"""A running instance shows a ready-to-copy SSH command and Jupyter URL on its page and in the list: at the
cluster's public address where the agent's ports lie in its range. The list has actions and costs."""

import re

import pytest
from django.urls import reverse

from apps.booking.lifecycle import workload_transition
from apps.booking.models import Workload
from apps.catalog.services import cluster_address_set
from apps.scheduling.models import Assignment
from apps.scheduling.services import place_pending
from tests.scheduling.conftest import enroll_node, pending_workload

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3t-Token_value"


def running_instance(customer, provider, cluster, *, ssh_port=30001, jupyter_port=30501, name="notebook"):
    """An instance placed on a node whose agent reported it running with these endpoints (as the
    heartbeat stores them)."""
    enroll_node(provider, cluster, f"node-{name}")
    workload = pending_workload(customer, name=name, kind=Workload.Kind.INSTANCE)
    place_pending(region_code="cn-shanghai")
    Assignment.objects.filter(spec__workload_id=str(workload.pk)).update(state="running", connection={
        "ssh": f"ssh -p {ssh_port} tidegrid@node-{name}",
        "jupyter": f"http://node-{name}:{jupyter_port}/lab?token={TOKEN}"})
    workload_transition(workload=workload, to_state=Workload.State.RUNNING, reason="started")
    return workload


def test_the_page_shows_the_public_ssh_command_and_jupyter_url_with_copy_buttons(as_user, customer, provider,
                                                                                    cluster):
    cluster_address_set(actor=provider.actor("admin"), cluster=cluster, public_host="gpu.example.com",
                        public_port_min=30000, public_port_max=30999)
    workload = running_instance(customer, provider, cluster)
    page = as_user(customer.member, customer.organization).get(f"/workloads/{workload.pk}/").content.decode()
    assert '<code id="ssh-command" class="copyable">ssh -p 30001 tidegrid@gpu.example.com</code>' in page
    assert f'href="http://gpu.example.com:30501/lab?token={TOKEN}"' in page
    assert 'data-copy="ssh-command"' in page and 'data-copy="jupyter-url"' in page
    assert "node-notebook" not in page.split('id="connection"')[1].split("</div>")[0]
    assert "Add an SSH key" in page  # the member has none yet
    assert "<script>" not in page and "onclick" not in page  # the copy buttons work by static JS only


def test_ports_outside_the_range_keep_the_nodes_own_address(as_user, customer, provider, cluster):
    cluster_address_set(actor=provider.actor("admin"), cluster=cluster, public_host="gpu.example.com",
                        public_port_min=40000, public_port_max=40100)
    workload = running_instance(customer, provider, cluster)
    page = as_user(customer.member, customer.organization).get(f"/workloads/{workload.pk}/").content.decode()
    assert "ssh -p 30001 tidegrid@node-notebook" in page
    assert "has not declared a public address" in page


def test_the_list_has_accelerator_cost_connection_and_actions_in_bounded_queries(
        as_user, customer, provider, cluster, django_assert_max_num_queries):
    cluster_address_set(actor=provider.actor("admin"), cluster=cluster, public_host="gpu.example.com",
                        public_port_min=30000, public_port_max=30999)
    first = running_instance(customer, provider, cluster)
    client = as_user(customer.member, customer.organization)
    with django_assert_max_num_queries(40) as one:
        client.get("/workloads/")
    for n in range(4):
        running_instance(customer, provider, cluster, name=f"nb{n}", ssh_port=30010 + n, jupyter_port=30510 + n)
    stopped = pending_workload(customer, name="old-job")
    workload_transition(workload=stopped, to_state=Workload.State.STOPPED, reason="stopped by the customer")
    with django_assert_max_num_queries(len(one.captured_queries)):
        listing = client.get("/workloads/").content.decode()
    row = listing.split(f'id="workload-{first.pk}"')[1].split("</tr>")[0]
    assert "NVIDIA T4 16GB" in row
    assert f'id="ssh-command-{first.pk}"' in row and "ssh -p 30001 tidegrid@gpu.example.com" in row
    assert reverse("booking:workload_stop", args=[first.pk]) in row and "Run again" not in row
    old = listing.split(f'id="workload-{stopped.pk}"')[1].split("</tr>")[0]
    assert "Run again" in old and "workload_stop" not in old
    # Acting from the list comes back to the list.
    response = client.post(reverse("booking:workload_stop", args=[first.pk]), {"back": "list"})
    assert response.status_code == 302 and response["Location"] == reverse("booking:workload_list")
    assert len(re.findall(r'data-copy="ssh-command-', listing)) == 5


def test_a_viewer_sees_no_actions_and_another_tenant_nothing(as_user, customer, provider, cluster, tenant):
    workload = running_instance(customer, provider, cluster)
    listing = as_user(customer.viewer, customer.organization).get("/workloads/").content.decode()
    assert reverse("booking:workload_stop", args=[workload.pk]) not in listing
    other = as_user(tenant.owner, tenant.organization)
    assert "notebook" not in other.get("/workloads/").content.decode()
    assert other.get(f"/workloads/{workload.pk}/").status_code == 404


def test_the_list_shows_the_running_price_and_the_cost_so_far(as_user, customer, provider, cluster):
    from datetime import timedelta

    from django.utils import timezone

    from apps.billing.metering import usage_accrue, usage_open

    workload = running_instance(customer, provider, cluster)
    assignment = Assignment.objects.get(spec__workload_id=str(workload.pk))
    start = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    record = usage_open(assignment=assignment, at=start)
    assert record is not None and record.hourly > 0
    usage_accrue(record=record, until=start + timedelta(hours=2))
    row = as_user(customer.member, customer.organization).get("/workloads/").content.decode().split(
        f'id="workload-{workload.pk}"')[1].split("</tr>")[0]
    hourly = f"{record.hourly:.4f}"
    so_far = f"{record.cost_fen / 100:.2f}"
    assert f"¥{hourly}/h" in row and f"¥{so_far} so far" in row


def test_the_api_gives_the_public_commands_too(api_as, customer, provider, cluster):
    cluster_address_set(actor=provider.actor("admin"), cluster=cluster, public_host="gpu.example.com",
                        public_port_min=30000, public_port_max=30999)
    workload = running_instance(customer, provider, cluster)
    url = f"/api/v1/organizations/{customer.organization.id}/workloads/{workload.pk}/"
    connection = api_as(customer.viewer).get(url).json()["connection"]
    assert connection == {"ssh": "ssh -p 30001 tidegrid@gpu.example.com",
                          "jupyter": f"http://gpu.example.com:30501/lab?token={TOKEN}"}
