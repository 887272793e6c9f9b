"""Billing runs on what the server observed: from the moment a heartbeat reply handed the work to the
agent to the receipt of the report that ended it, whatever times the agent claims."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.billing.models import UsageRecord
from apps.catalog.models import Node
from apps.scheduling.models import Assignment

pytestmark = pytest.mark.django_db

STATES = ["starting", "running", "succeeded", "failed", "stopped"]
# Anything an agent may send: nothing, the distant past, the distant future, or around now.
claimed = st.one_of(st.none(), st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 31),
                                            timezones=st.just(UTC)))


def _post(agent, assignments) -> dict:
    agent.seq += 1
    body = {"node_id": str(agent.node.id), "seq": agent.seq, "collected_at": datetime.now(UTC).isoformat(),
            "devices": [], "assignments": assignments}
    response = agent.client.post("/api/agent/v1/heartbeat", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _item(assignment, state, started_at, finished_at) -> dict:
    return {"id": str(assignment.id), "state": state, "exit_code": 0,
            "started_at": started_at.isoformat() if started_at else None,
            "finished_at": finished_at.isoformat() if finished_at else None}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reports=st.lists(st.tuples(st.sampled_from(STATES), claimed, claimed), min_size=0, max_size=4),
       last=st.tuples(st.sampled_from(["succeeded", "failed", "stopped"]), claimed, claimed))
def test_billed_seconds_never_exceed_the_server_observed_seconds(place, agent, reports, last):
    # given work placed on the node and handed to its agent by a heartbeat reply
    _workload, assignment = place()
    reply = _post(agent, [])
    assert {"id": str(assignment.id), "action": "start"} in [
        {"id": item["id"], "action": item["action"]} for item in reply["assignments"]]
    # when the agent reports any sequence of states with any times, ending in a final state
    for state, started_at, finished_at in [*reports, last]:
        _post(agent, [_item(assignment, state, started_at, finished_at)])
    # then what is billed lies inside what the server saw, and is never more seconds
    assignment.refresh_from_db()
    assert assignment.is_final
    observed = (assignment.last_reported_at - assignment.delivered_at).total_seconds()
    records = list(UsageRecord.objects.filter(assignment=assignment))
    billed = sum(record.peak_seconds + record.off_peak_seconds for record in records)
    assert billed <= max(0.0, observed)
    for record in records:
        assert assignment.delivered_at <= record.started_at
        # (a job handed over and ended within one second is an empty record at the next whole second)
        assert record.ended_at <= max(assignment.last_reported_at, record.started_at)


def test_forged_times_are_clamped_and_counted_against_the_node(place, agent):
    _workload, assignment = place()
    _post(agent, [])
    _post(agent, [_item(assignment, "running", datetime(2026, 1, 1, tzinfo=UTC), None)])
    _post(agent, [_item(assignment, "succeeded", None, datetime(2099, 1, 1, tzinfo=UTC))])
    assignment = Assignment.objects.get(pk=assignment.pk)
    assert assignment.delivered_at <= assignment.started_at <= assignment.finished_at
    assert assignment.finished_at <= max(assignment.last_reported_at, assignment.started_at)
    node = Node.objects.get(pk=agent.node.pk)
    assert node.agent_time_flags == 2 and node.agent_time_flagged_at is not None


def test_honest_times_are_kept_and_not_counted(place, agent):
    _workload, assignment = place()
    _post(agent, [])
    started = datetime.now(UTC)
    _post(agent, [_item(assignment, "running", started, None)])
    _post(agent, [_item(assignment, "succeeded", started, datetime.now(UTC))])
    assignment = Assignment.objects.get(pk=assignment.pk)
    # kept, at most moved up to the next whole second after the hand-over (billing counts whole seconds)
    assert started <= assignment.started_at < started + timedelta(seconds=1)
    assert Node.objects.get(pk=agent.node.pk).agent_time_flags == 0
