"""The nvml backend against a recorded fake of the pynvml module (and the real one, without a GPU)."""

from __future__ import annotations

import pytest

from agents.devices.base import DeviceBackendError
from agents.devices.nvml import NvmlBackend
from tests.agents.fake_pynvml import A100, H100, RTX4090, FakeNvml


def test_inventory_reads_uuid_name_and_memory():
    backend = NvmlBackend(FakeNvml([H100, A100]))
    devices = [device.to_dict() for device in backend.inventory()]
    assert devices == [
        {"uuid": H100["uuid"], "index": 0, "model": "NVIDIA H100 80GB HBM3", "vendor": "nvidia",
         "memory_total_mib": 81559},
        {"uuid": A100["uuid"], "index": 1, "model": "NVIDIA A100-SXM4-80GB", "vendor": "nvidia",
         "memory_total_mib": 81920},
    ]


def test_sample_converts_units_as_the_protocol_wants():
    busy, idle = NvmlBackend(FakeNvml([H100, A100])).sample()
    assert busy.to_dict() == {
        "uuid": H100["uuid"], "index": 0, "utilization_pct": 97.0, "memory_used_mib": 74565,
        "memory_total_mib": 81559, "temperature_c": 63.0, "power_w": 612.345, "energy_mj": 8512345678,
        "ecc_errors": 0, "xid_errors": 0, "health": "ok",
    }
    assert (idle.utilization_pct, idle.memory_used_mib, idle.power_w) == (0.0, 503, 62.123)


def test_fields_a_board_does_not_support_are_left_out_not_fatal():
    fake = FakeNvml([RTX4090])
    backend = NvmlBackend(fake)
    assert fake.registered == []  # XID events not supported: nothing registered, counter stays 0
    sample = backend.sample()[0]
    assert backend.inventory()[0].model == "NVIDIA GeForce RTX 4090"  # bytes from old drivers decoded
    assert sample.ecc_errors == 0 and sample.xid_errors == 0
    assert sample.health == "ok"
    fake.devices[0]["not_supported"] = {"ecc", "events", "power", "energy", "temp"}
    sample = backend.sample()[0]
    assert (sample.power_w, sample.energy_mj, sample.temperature_c) == (None, None, None)
    assert sample.utilization_pct == 12.0 and sample.health == "ok"


def test_xid_events_are_counted_per_device_and_mark_it_degraded_once():
    fake = FakeNvml([H100, A100])
    backend = NvmlBackend(fake)
    assert fake.registered == [0, 1]
    fake.raise_xid(1, 48)
    fake.raise_xid(1, 94)
    first = backend.sample()
    assert [s.xid_errors for s in first] == [0, 2]
    assert [s.health for s in first] == ["ok", "degraded"]
    second = backend.sample()
    assert [s.xid_errors for s in second] == [0, 2]  # a cumulative counter
    assert second[1].health == "ok"


def test_uncorrectable_ecc_errors_mark_the_device_degraded():
    fake = FakeNvml([dict(A100, ecc=2)])
    sample = NvmlBackend(fake).sample()[0]
    assert (sample.ecc_errors, sample.health) == (2, "degraded")


def test_a_lost_gpu_is_reported_failed_and_the_others_still_sampled():
    fake = FakeNvml([H100, A100])
    backend = NvmlBackend(fake)
    fake.devices[0]["lost"] = True
    lost, fine = backend.sample()
    assert lost.health == "failed" and lost.uuid == H100["uuid"]
    assert fine.health == "ok" and fine.memory_used_mib == 503


def test_missing_library_gives_a_clear_error():
    with pytest.raises(DeviceBackendError, match="NVML library not found"):
        NvmlBackend(FakeNvml([], library_missing=True))


def test_close_shuts_nvml_down():
    fake = FakeNvml([A100])
    NvmlBackend(fake).close()
    assert fake.shut_down


def test_the_real_pynvml_without_a_gpu_raises_library_not_found():
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError_LibraryNotFound:
        pass
    else:  # pragma: no cover - only on a GPU host
        pynvml.nvmlShutdown()
        pytest.skip("this host has an NVIDIA driver")
    with pytest.raises(DeviceBackendError, match="install the NVIDIA driver"):
        NvmlBackend()
