"""The ascend backend parses recorded ``npu-smi info`` tables (the command runner is injected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.devices.ascend import AscendBackend, parse_npu_smi_info
from agents.devices.base import DeviceBackendError

FIXTURES = Path(__file__).parent / "fixtures"


def recorded(name: str) -> str:
    return (FIXTURES / name).read_text()


def runner_for(*names: str):
    """Answers ``npu-smi info`` with the recorded outputs in turn (the last one repeats)."""
    calls = []

    def run(argv: list[str]) -> str:
        assert argv == ["npu-smi", "info"]
        calls.append(argv)
        return recorded(names[min(len(calls), len(names)) - 1])

    return run


def test_parses_an_8_npu_910b3_table_with_hbm_and_processes():
    info = parse_npu_smi_info(recorded("npu_smi_info_910b3_8npu.txt"))
    assert info.version == "24.1.0.3"
    assert not info.has_device_column
    assert [chip.npu_id for chip in info.chips] == list(range(8))
    first = info.chips[0]
    assert (first.name, first.health, first.power_w, first.temperature_c) == ("910B3", "OK", 312.6, 61.0)
    assert (first.bus_id, first.aicore_pct) == ("0000:C1:00.0", 87.0)
    # The chip row holds Memory-Usage (0 / 0 on this card) and then HBM-Usage: the HBM pair is the memory.
    assert (first.memory_used_mb, first.memory_total_mb) == (0, 0)
    assert (first.hbm_used_mb, first.hbm_total_mb) == (61234, 65536)
    assert (first.used_mib, first.total_mib) == (61234, 65536)
    assert info.chips[2].used_mib == 3389
    assert info.chips[4].health == "Warning"
    assert [(p.npu_id, p.pid, p.name, p.memory_mb) for p in info.processes] == [
        (0, 1845210, "python3.10", 57856), (1, 1845211, "python3.10", 57820)]


def test_parses_310p3_duo_cards_with_a_device_column_and_no_power():
    info = parse_npu_smi_info(recorded("npu_smi_info_310p3_duo.txt"))
    assert info.version == "25.2.0"
    assert info.has_device_column
    assert [(c.npu_id, c.chip_id, c.device_id) for c in info.chips] == [(1, 0, 0), (1, 1, 1), (2, 0, 2), (2, 1, 3)]
    assert all(chip.power_w is None for chip in info.chips)
    assert [(c.used_mib, c.total_mib) for c in info.chips] == [(16302, 44280), (15543, 43693), (1529, 44280),
                                                               (1411, 43693)]
    assert info.chips[0].hbm_total_mb is None
    assert len(info.processes) == 2


def test_inventory_and_samples_of_a_910b3_host():
    backend = AscendBackend(hostname="npu-node-01", runner=runner_for("npu_smi_info_910b3_8npu.txt"))
    devices = backend.inventory()
    assert [d.index for d in devices] == list(range(8))
    assert {d.model for d in devices} == {"Ascend910B3"}
    assert {d.vendor for d in devices} == {"huawei"}
    assert {d.memory_total_mib for d in devices} == {65536}
    assert len({d.uuid for d in devices}) == 8 and all(d.uuid.startswith("NPU-") for d in devices)
    samples = backend.sample()
    assert samples[0].to_dict() == {
        "uuid": devices[0].uuid, "index": 0, "utilization_pct": 87.0, "memory_used_mib": 61234,
        "memory_total_mib": 65536, "temperature_c": 61.0, "power_w": 312.6, "energy_mj": None,
        "ecc_errors": 0, "xid_errors": 0, "health": "ok",
    }
    assert [s.health for s in samples].count("degraded") == 1 and samples[4].health == "degraded"


def test_the_device_uuid_is_stable_per_host_and_differs_between_hosts():
    one = AscendBackend(hostname="npu-node-01", runner=runner_for("npu_smi_info_910b3_8npu.txt")).inventory()
    again = AscendBackend(hostname="npu-node-01", runner=runner_for("npu_smi_info_910b3_8npu.txt")).inventory()
    other = AscendBackend(hostname="npu-node-02", runner=runner_for("npu_smi_info_910b3_8npu.txt")).inventory()
    assert [d.uuid for d in one] == [d.uuid for d in again]
    assert not {d.uuid for d in one} & {d.uuid for d in other}


def test_310p_logical_ids_come_from_the_device_column():
    backend = AscendBackend(hostname="infer-01", runner=runner_for("npu_smi_info_310p3_duo.txt"))
    devices = backend.inventory()
    assert [(d.index, d.model, d.memory_total_mib) for d in devices] == [
        (0, "Ascend310P3", 44280), (1, "Ascend310P3", 43693), (2, "Ascend310P3", 44280), (3, "Ascend310P3", 43693)]
    samples = backend.sample()
    assert [s.utilization_pct for s in samples] == [38.0, 35.0, 0.0, 0.0]
    assert samples[0].power_w is None


def test_a_critical_npu_is_failed_and_a_vanished_one_too():
    backend = AscendBackend(hostname="npu-node-03", runner=runner_for("npu_smi_info_910b4_alarm.txt"))
    samples = backend.sample()
    assert [(s.health, s.power_w) for s in samples] == [("ok", 88.4), ("failed", None)]
    assert backend.inventory()[0].memory_total_mib == 32768
    # Next reading: NPU 1 fell off the bus and npu-smi lists only NPU 0.
    text = recorded("npu_smi_info_910b4_alarm.txt")
    only_first = "\n".join(line for line in text.splitlines()
                           if "0000:C2:00.0" not in line and "| 1     910B4" not in line)
    backend._runner = lambda argv: only_first
    samples = backend.sample()
    assert [s.health for s in samples] == ["ok", "failed"]


def test_without_npu_smi_the_backend_explains_what_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(DeviceBackendError, match="npu-smi not found on PATH"):
        AscendBackend(hostname="h")


def test_output_without_npu_rows_is_refused():
    with pytest.raises(DeviceBackendError, match="no NPU rows"):
        AscendBackend(hostname="h", runner=lambda argv: "dcmi module initialize failed. ret is -8005\n")
