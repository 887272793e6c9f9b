"""The simulated backend: any model, load that follows the assignments, reproducible with a seed."""

from __future__ import annotations

import pytest

from agents.devices.simulated import SimulatedBackend, model_spec, parse_model_count


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def backend(seed=3, clock=None, models=None):
    models = models or [(model_spec("NVIDIA H100 80GB HBM3"), 2)]
    return SimulatedBackend(models, hostname="sim-node-001", seed=seed, clock=clock or Clock())


def test_model_count_parsing():
    spec, count = parse_model_count("NVIDIA A100-SXM4-80GB:8")
    assert (spec.name, spec.memory_mib, spec.vendor, count) == ("NVIDIA A100-SXM4-80GB", 81920, "nvidia", 8)
    spec, count = parse_model_count("Ascend910B3:4")
    assert (spec.vendor, spec.memory_mib, count) == ("huawei", 65536, 4)
    spec, count = parse_model_count("MetaX C500:2:65536")
    assert (spec.name, spec.memory_mib, count) == ("MetaX C500", 65536, 2)
    with pytest.raises(ValueError, match="MEMORY_MIB"):
        parse_model_count("Mystery GPU:2")
    with pytest.raises(ValueError):
        parse_model_count("NVIDIA A100-SXM4-80GB")


def test_inventory_is_stable_per_host():
    first, second = backend().inventory(), backend(seed=99).inventory()
    assert [d.uuid for d in first] == [d.uuid for d in second]
    assert first[0].uuid.startswith("GPU-") and first[0].memory_total_mib == 81559
    other = SimulatedBackend([(model_spec("NVIDIA H100 80GB HBM3"), 2)], hostname="sim-node-002").inventory()
    assert not {d.uuid for d in first} & {d.uuid for d in other}


def test_utilization_and_memory_follow_the_running_assignments():
    sim = backend()
    idle = sim.sample()
    assert all(s.utilization_pct < 1 and s.memory_used_mib == 0 for s in idle)
    sim.update_workloads([
        {"device_indices": [0], "compute_milli": 250, "memory_mib": 10240},
        {"device_indices": [0], "compute_milli": 500, "memory_mib": 20480},
        {"device_indices": [1], "compute_milli": 1000, "memory_mib": 81559},
    ])
    busy = sim.sample()
    assert 73 <= busy[0].utilization_pct <= 77 and busy[0].memory_used_mib == 30720
    assert busy[1].utilization_pct >= 98 and busy[1].memory_used_mib == 81559
    assert busy[1].power_w > busy[0].power_w > idle[0].power_w
    assert busy[1].temperature_c > idle[1].temperature_c
    sim.update_workloads([])
    assert sim.sample()[0].memory_used_mib == 0


def test_the_energy_counter_integrates_power_over_time():
    clock = Clock()
    sim = backend(clock=clock)
    first = sim.sample()[0]
    assert first.energy_mj == 0
    clock.now += 10.0
    second = sim.sample()[0]
    # About 70 W idle for 10 s = about 700 J = 700,000 mJ.
    assert 650_000 <= second.energy_mj - first.energy_mj <= 750_000
    clock.now += 10.0
    assert sim.sample()[0].energy_mj > second.energy_mj


def test_the_same_seed_gives_the_same_readings():
    def readings(seed):
        sim = backend(seed=seed)
        sim.update_workloads([{"device_indices": [0], "compute_milli": 400, "memory_mib": 1}])
        return [s.to_dict() for _ in range(3) for s in sim.sample()]

    assert readings(5) == readings(5)
    assert readings(5) != readings(6)


def test_faults_can_be_injected():
    sim = backend()
    sim.set_health(1, "failed")
    sim.xid_errors[1] = 3
    sample = sim.sample()[1]
    assert (sample.health, sample.xid_errors) == ("failed", 3)


def test_a_slice_reports_its_own_use_of_the_card():
    sim = backend()
    quarter = {"device_indices": [1], "compute_milli": 250, "memory_mib": 20480}
    usage = sim.assignment_usage(quarter)
    assert 22.5 <= usage["utilization_pct"] <= 25.0  # busy within its 25 % share, not the whole card
    assert usage["memory_used_mib"] == 16384
    two_cards = sim.assignment_usage({"device_indices": [0, 1], "compute_milli": 1000})
    assert 90.0 <= two_cards["utilization_pct"] <= 100.0
    assert sim.assignment_usage({"device_indices": []}) is None
