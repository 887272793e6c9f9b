"""The agent loop against a fake server: enrollment, seq order, spool replay, backoff, errors, work."""

from __future__ import annotations

import logging
import stat

from agents.agent import EXIT_CREDENTIAL, EXIT_OK, Agent, AgentConfig
from agents.devices.simulated import SimulatedBackend, model_spec
from agents.runtimes.noop import NoopRuntime
from tests.agents.helpers import AgentThread, FakeServer, wait_until

HOST = "gpu-node-07"


def make_agent(tmp_path, server, *, runtime=None, backend=None, spool_max=1000,
               token="tgb_test") -> Agent:  # noqa: S107 - a fake bootstrap token
    backend = backend or SimulatedBackend([(model_spec("NVIDIA A100-SXM4-80GB"), 2)], hostname=HOST, seed=1)
    config = AgentConfig(server=server.url, state_dir=tmp_path / "state", hostname=HOST, token=token,
                         interval_s=0.05, spool_max=spool_max, backoff_base_s=0.01, backoff_cap_s=0.1,
                         http_timeout_s=5, durable=False, labels={"rack": "r12"})
    return Agent(config, backend=backend, runtime=runtime or NoopRuntime())


def assert_contiguous(seqs):
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


def test_enrolls_once_then_reports_in_seq_order(tmp_path):
    with FakeServer() as server:
        agent = make_agent(tmp_path, server)
        with AgentThread(agent) as running:
            assert server.wait_for(lambda: len(server.accepted) >= 3)
            assert running.stop() == EXIT_OK
    enrollment = server.enrollments[0]
    assert enrollment["hostname"] == HOST
    assert enrollment["runtime"] == "noop" and enrollment["device_backend"] == "simulated"
    assert enrollment["labels"] == {"rack": "r12"}
    assert [d["model"] for d in enrollment["devices"]] == ["NVIDIA A100-SXM4-80GB"] * 2
    assert enrollment["devices"][0]["memory_total_mib"] == 81920
    seqs = server.accepted_seqs()
    assert seqs[0] == 1
    assert_contiguous(seqs)
    report = server.accepted[0]
    assert report["replayed"] is False
    assert {d["uuid"] for d in report["devices"]} == {d["uuid"] for d in enrollment["devices"]}
    state_file = tmp_path / "state" / "state.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert len(agent.spool) == 0  # the final report went out on stop


def test_restart_continues_the_seq_without_enrolling_again(tmp_path):
    with FakeServer() as server:
        with AgentThread(make_agent(tmp_path, server)):
            assert server.wait_for(lambda: len(server.accepted) >= 2)
        before = len(server.accepted)
        with AgentThread(make_agent(tmp_path, server, token=None)):
            assert server.wait_for(lambda: len(server.accepted) >= before + 2)
    assert len(server.enrollments) == 1
    seqs = server.accepted_seqs()
    assert_contiguous(seqs)
    assert not server.duplicates


def test_outage_then_recovery_delivers_every_report_once_in_order(tmp_path):
    with FakeServer() as server:
        agent = make_agent(tmp_path, server)
        with AgentThread(agent) as running:
            assert server.wait_for(lambda: len(server.accepted) >= 2)
            server.set_mode("outage")
            outage_started_at = agent.state.next_seq
            # Reports keep being collected and spooled while every delivery is refused.
            assert server.wait_for(lambda: server.refused >= 5 and len(agent.spool) >= 4)
            assert agent.backoff.failures >= 1
            last_during_outage = agent.state.next_seq - 1
            server.set_mode("ok")
            assert server.wait_for(lambda: server.accepted_seqs()[-1] > last_during_outage + 1)
            assert running.stop() == EXIT_OK
    seqs = server.accepted_seqs()
    assert seqs[0] == 1
    assert_contiguous(seqs)  # every report exactly once, in order
    assert not server.duplicates
    assert agent.backoff.failures == 0
    by_seq = {report["seq"]: report for report in server.accepted}
    assert all(by_seq[seq]["replayed"] for seq in range(outage_started_at, last_during_outage))
    assert not by_seq[1]["replayed"]
    # Retries during the outage always went for the oldest undelivered report: never backwards.
    attempted = [body["seq"] for body in server.received]
    assert attempted == sorted(attempted)


def test_a_lost_reply_is_resent_and_its_duplicate_ack_clears_the_spool(tmp_path):
    with FakeServer() as server:
        server.fail_after_store = {3}
        agent = make_agent(tmp_path, server)
        with AgentThread(agent):
            assert server.wait_for(lambda: len(server.accepted) >= 6)
    assert server.duplicates == [3]
    assert_contiguous(server.accepted_seqs())
    assert len(agent.spool) == 0


def test_revoked_credential_stops_the_agent_with_a_clear_error(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="agents")
    with FakeServer() as server:
        agent = make_agent(tmp_path, server)
        running = AgentThread(agent).__enter__()
        assert server.wait_for(lambda: len(server.accepted) >= 1)
        server.set_mode("unauthorized")
        assert running.join(timeout=10) == EXIT_CREDENTIAL
    assert "no longer accepts this node's credential" in caplog.text


def test_refused_bootstrap_token_exits_without_reporting(tmp_path, caplog):
    with FakeServer() as server:
        agent = make_agent(tmp_path, server, token="not-a-token")
        assert agent.run() == EXIT_CREDENTIAL
        assert not server.received
    assert "bootstrap token is unknown" in caplog.text


def test_enrollment_waits_out_a_server_outage(tmp_path):
    with FakeServer() as server:
        server.enroll_mode = "outage"
        agent = make_agent(tmp_path, server)
        with AgentThread(agent):
            assert wait_until(lambda: agent.backoff.failures >= 2)
            with server.cond:
                server.enroll_mode = "ok"
            assert server.wait_for(lambda: len(server.accepted) >= 1)
    assert len(server.enrollments) == 1


class FlakyRuntime(NoopRuntime):
    """poll() blows up on its 2nd and 3rd calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def poll(self):
        self.calls += 1
        if self.calls in (2, 3):
            raise RuntimeError("runtime hiccup")
        return super().poll()


class FlakyBackend(SimulatedBackend):
    def __init__(self) -> None:
        super().__init__([(model_spec("Tesla T4"), 1)], hostname=HOST, seed=2)
        self.calls = 0

    def sample(self):
        self.calls += 1
        if self.calls == 2:
            raise OSError("driver went away for a moment")
        return super().sample()


def test_one_failing_iteration_is_logged_and_the_loop_goes_on(tmp_path, caplog):
    with FakeServer() as server:
        agent = make_agent(tmp_path, server, runtime=FlakyRuntime(), backend=FlakyBackend())
        with AgentThread(agent):
            assert server.wait_for(lambda: len(server.accepted) >= 5)
    assert "collecting a report failed: RuntimeError: runtime hiccup" in caplog.text
    assert "reading the devices failed: OSError" in caplog.text
    assert_contiguous(server.accepted_seqs())
    # The report whose device reading failed still went out, with its assignments and no devices.
    assert any(report["devices"] == [] for report in server.accepted)


def test_spool_is_bounded_during_a_long_outage(tmp_path, caplog):
    with FakeServer() as server:
        agent = make_agent(tmp_path, server, spool_max=3)
        with AgentThread(agent):
            assert server.wait_for(lambda: len(server.accepted) >= 1)
            server.set_mode("outage")
            assert server.wait_for(lambda: agent.spool.dropped >= 3)
            server.set_mode("ok")
            assert server.wait_for(lambda: len(agent.spool) == 0 and len(server.accepted) >= 4)
    assert "spool full (3 reports): dropped the oldest" in caplog.text
    seqs = server.accepted_seqs()
    assert seqs == sorted(set(seqs))  # still in order, nothing twice
    assert seqs[-1] - seqs[0] + 1 > len(seqs)  # the dropped ones are the gap


def test_server_work_starts_and_stops_assignments_and_final_states_are_acknowledged(tmp_path):
    with FakeServer() as server:
        agent = make_agent(tmp_path, server)
        quick = "0b9a4c1e-0000-4000-8000-000000000001"
        long = "0b9a4c1e-0000-4000-8000-000000000002"
        unknown = "0b9a4c1e-0000-4000-8000-000000000003"
        with AgentThread(agent):
            with server.cond:
                server.starts[quick] = {"command": ["true"], "duration_s": 0, "device_indices": [1],
                                        "compute_milli": 1000, "memory_mib": 81920}
                server.starts[long] = {"command": ["train"], "device_indices": [0], "compute_milli": 500,
                                       "memory_mib": 20480, "workload_kind": "batch"}
                server.stops.add(unknown)
            assert server.wait_for(lambda: quick in server.final and unknown in server.final)
            assert server.wait_for(lambda: "running" in server.assignment_states(long))
            # The simulated device 0 carries the half-GPU slice.
            assert server.wait_for(lambda: any(
                r["devices"] and r["devices"][0]["memory_used_mib"] == 20480
                and 45 <= r["devices"][0]["utilization_pct"] <= 55 for r in server.accepted))
            with server.cond:
                server.stops.add(long)
            assert server.wait_for(lambda: long in server.final)
            assert wait_until(lambda: not agent.runtime.knows(quick) and not agent.runtime.knows(long))
    assert server.final[quick]["state"] == "succeeded" and server.final[quick]["exit_code"] == 0
    assert server.final[long]["state"] == "stopped"
    assert server.final[unknown]["state"] == "stopped"
    assert server.assignment_states(quick).count("succeeded") == 1  # acknowledged, then no longer listed


def test_the_server_sets_the_interval(tmp_path):
    with FakeServer(interval_s=0.2) as server:
        agent = make_agent(tmp_path, server)
        with AgentThread(agent):
            assert server.wait_for(lambda: len(server.accepted) >= 1)
            assert agent.interval_s == 0.2
            server.interval_s = 0.07
            assert wait_until(lambda: agent.interval_s == 0.07)


def test_reports_spooled_before_a_restart_are_replayed_first(tmp_path):
    with FakeServer() as server:
        first = make_agent(tmp_path, server)
        with AgentThread(first):
            assert server.wait_for(lambda: len(server.accepted) >= 1)
            server.set_mode("outage")
            assert server.wait_for(lambda: len(first.spool) >= 3)
        left_behind = first.spool.seqs()
        assert left_behind  # the stop could not deliver them
        server.set_mode("ok")
        second = make_agent(tmp_path, server, token=None)
        with AgentThread(second):
            assert server.wait_for(lambda: server.accepted_seqs()[-1] > left_behind[-1])
    by_seq = {report["seq"]: report for report in server.accepted}
    assert all(by_seq[seq]["replayed"] for seq in left_behind)
    assert_contiguous(server.accepted_seqs())


def test_an_explicit_interval_outranks_the_servers_suggestion(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="agents")
    with FakeServer(interval_s=30) as server:
        agent = make_agent(tmp_path, server)
        agent.config.interval_pinned = True
        with AgentThread(agent):
            assert server.wait_for(lambda: len(server.accepted) >= 3)  # 30 s would never get here
            assert agent.interval_s == 0.05
    assert "server suggests a 30.0 s interval; keeping --interval" in caplog.text


def test_re_enrolling_after_losing_its_state_drops_the_old_spool_and_starts_the_new_sequence(tmp_path):
    with FakeServer() as server:
        first = make_agent(tmp_path, server)
        with AgentThread(first):
            assert server.wait_for(lambda: len(server.accepted) >= 1)
            server.set_mode("outage")
            assert server.wait_for(lambda: len(first.spool) >= 3)
        assert first.spool.seqs()
        (tmp_path / "state" / "state.json").unlink()  # the operator re-enrolls the node with a new token
        server.set_mode("ok")
        accepted_before = len(server.accepted)
        second = make_agent(tmp_path, server)
        with AgentThread(second):
            assert server.wait_for(lambda: len(server.accepted) >= accepted_before + 2)
    after = server.accepted[accepted_before:]
    assert not any(report["replayed"] for report in after)  # nothing of the earlier enrollment is resent
    assert [report["seq"] for report in after][:2] == [1, 2]
