"""The spool (order, bound, crash leftovers), the state file and the backoff schedule."""

from __future__ import annotations

import json
import logging
import random
import stat

import pytest

from agents.backoff import Backoff
from agents.spool import Spool
from agents.state import AgentState


def report(seq: int) -> dict:
    return {"node_id": "n1", "seq": seq, "collected_at": "2026-11-28T12:00:00+00:00", "devices": [],
            "assignments": []}


def test_spool_keeps_reports_in_seq_order_across_a_restart(tmp_path):
    spool = Spool(tmp_path / "spool", durable=False)
    for seq in (1, 2, 3, 10, 11):
        spool.append(report(seq))
    spool.remove(2)
    reopened = Spool(tmp_path / "spool")
    assert reopened.seqs() == [1, 3, 10, 11]
    assert reopened.read(10)["seq"] == 10
    assert reopened.max_seq == 11
    # File names sort like the seqs (zero padded), so a directory listing is the replay order too.
    assert sorted(p.name for p in (tmp_path / "spool").iterdir())[0] == f"{1:020d}.json"


def test_spool_refuses_out_of_order_appends(tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append(report(5))
    with pytest.raises(ValueError):
        spool.append(report(5))


def test_spool_drops_the_oldest_past_its_bound_with_a_warning(tmp_path, caplog):
    spool = Spool(tmp_path / "spool", max_reports=3, durable=False)
    for seq in range(1, 6):
        spool.append(report(seq))
    assert spool.seqs() == [3, 4, 5]
    assert spool.dropped == 2
    assert len(list((tmp_path / "spool").glob("*.json"))) == 3
    assert caplog.text.count("spool full (3 reports)") == 2
    assert all(record.levelno == logging.WARNING for record in caplog.records)


def test_a_smaller_bound_at_start_trims_an_existing_spool(tmp_path):
    spool = Spool(tmp_path / "spool", durable=False)
    for seq in range(1, 6):
        spool.append(report(seq))
    assert Spool(tmp_path / "spool", max_reports=2).seqs() == [4, 5]


def test_crash_leftovers_are_cleaned_and_a_corrupt_report_is_dropped(tmp_path, caplog):
    directory = tmp_path / "spool"
    spool = Spool(directory)
    spool.append(report(1))
    spool.append(report(2))
    (directory / f".{2:020d}.json.abc.tmp").write_text('{"half": ')  # died before the rename
    (directory / f"{2:020d}.json").write_text("{not json")  # a disk that lied
    reopened = Spool(directory)
    assert not list(directory.glob(".*.tmp"))
    assert reopened.read(2) is None
    assert reopened.seqs() == [1]
    assert "unreadable" in caplog.text


def test_state_file_is_private_and_round_trips(tmp_path):
    state = AgentState.load(tmp_path / "state")
    assert not state.enrolled and state.next_seq == 1
    state.node_id, state.credential, state.next_seq = "n1", "tgn_secret", 42
    state.save()
    path = tmp_path / "state" / "state.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    again = AgentState.load(tmp_path / "state")
    assert (again.node_id, again.credential, again.next_seq) == ("n1", "tgn_secret", 42)
    assert "tgn_secret" not in repr(again)
    assert json.loads(path.read_text())["credential"] == "tgn_secret"


def test_a_state_file_readable_by_others_is_tightened(tmp_path):
    AgentState.load(tmp_path).save()
    (tmp_path / "state.json").chmod(0o644)
    AgentState.load(tmp_path)
    assert stat.S_IMODE((tmp_path / "state.json").stat().st_mode) == 0o600


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    backoff = Backoff(base_s=1.0, cap_s=60.0, rng=random.Random(7))
    delays = [backoff.failure() for _ in range(12)]
    ceilings = [min(60.0, 2.0 ** n) for n in range(12)]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling  # jittered within the upper half of the ceiling
    assert max(delays) <= 60.0
    assert delays[-1] >= 30.0  # stays near the cap once there
    assert len(set(delays)) == len(delays)  # jitter: no two alike
    backoff.reset()
    assert backoff.failure() <= 1.0


def test_backoff_honours_retry_after_up_to_the_cap():
    backoff = Backoff(base_s=1.0, cap_s=60.0, rng=random.Random(1))
    assert backoff.failure(retry_after=30) == 30
    assert backoff.failure(retry_after=3600) == 60.0


def test_two_agents_with_different_random_streams_spread_out():
    first = Backoff(rng=random.Random(1))
    second = Backoff(rng=random.Random(2))
    assert [first.failure() for _ in range(5)] != [second.failure() for _ in range(5)]
