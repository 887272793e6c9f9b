"""The accelerator catalog and region facts are internally consistent (pure data: no database needed)."""

import itertools
from decimal import Decimal

import pytest

from apps.catalog.data.accelerators import ACCELERATORS, FIGURE_NOTES, SLICING_MODES, SOURCES, VENDORS
from apps.catalog.data.region_facts import LATENCY_MS, REGION_FACTS, TARIFF_POLICIES, latency_ms
from apps.catalog.data.region_facts import SOURCES as REGION_SOURCES
from apps.catalog.data.regions import REGIONS

ACCELERATOR_KEYS = {
    "code": str,
    "vendor": str,
    "name": str,
    "nvml_names": list,
    "memory_mib": int,
    "memory_type": str,
    "fp16_tflops": Decimal,
    "fp32_tflops": Decimal,
    "tdp_w": int,
    "interconnect": str,
    "architecture": str,
    "slicing": str,
    "profiles": list,
    "source_ids": list,
}
PROFILE_KEYS = {"name": str, "compute_milli": int, "memory_mib": int, "max_per_device": int}
REGION_KEYS = {
    "timezone": str,
    "peak_hours": list,
    "off_peak_hours": list,
    "electricity_cny_per_kwh": Decimal,
    "hub": str,
}
REGION_CODES = [code for code, *_ in REGIONS]
HUBS = {"京津冀", "长三角", "粤港澳", "成渝", "内蒙古", "贵州", "甘肃", "宁夏"}
REQUIRED_MODELS = {
    "nvidia-h100-80gb", "nvidia-h20-96gb", "nvidia-a100-40gb", "nvidia-a100-80gb", "nvidia-a800-80gb",
    "nvidia-l40s", "nvidia-rtx-4090", "nvidia-t4", "nvidia-v100-16gb", "nvidia-v100-32gb",
    "huawei-ascend-910b3", "huawei-ascend-310p3", "iluvatar-bi-v150", "cambricon-mlu370-x8", "hygon-k100-ai",
}


def _by_code(code: str) -> dict:
    return next(model for model in ACCELERATORS if model["code"] == code)


def _profiles():
    return [(model, profile) for model in ACCELERATORS for profile in model["profiles"]]


def _profile_id(item):
    model, profile = item
    return f"{model['code']}:{profile['name']}"


# --- accelerators -------------------------------------------------------------------------------------------------

def test_codes_are_unique_slugs():
    codes = [model["code"] for model in ACCELERATORS]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert code == code.lower() and " " not in code and code.startswith(tuple(VENDORS))


def test_the_required_models_are_in_the_catalog():
    assert {model["code"] for model in ACCELERATORS} >= REQUIRED_MODELS


@pytest.mark.parametrize("model", ACCELERATORS, ids=lambda model: model["code"])
def test_every_model_has_exactly_the_required_keys_with_the_right_types(model):
    assert set(model) == set(ACCELERATOR_KEYS)
    for key, kind in ACCELERATOR_KEYS.items():
        assert type(model[key]) is kind, key  # bool is not an int here, Decimal is not a float
    assert model["vendor"] in VENDORS
    assert model["slicing"] in SLICING_MODES
    assert model["name"] and model["memory_type"] and model["interconnect"] and model["architecture"]
    assert model["nvml_names"] and all(isinstance(name, str) and name for name in model["nvml_names"])
    assert model["memory_mib"] > 0
    assert model["fp16_tflops"] > 0
    assert model["fp32_tflops"] >= 0 and model["tdp_w"] >= 0  # 0 = not published, see FIGURE_NOTES


@pytest.mark.parametrize("model", ACCELERATORS, ids=lambda model: model["code"])
def test_figures_fit_the_catalog_columns(model):
    # Mirrors apps/catalog/models.py: TFLOPS are stored with one decimal place, strings have length limits.
    for key in ("fp16_tflops", "fp32_tflops"):
        assert model[key] == model[key].quantize(Decimal("0.1")), key
    limits = {"code": 60, "name": 100, "memory_type": 20, "interconnect": 100, "architecture": 60}
    for key, limit in limits.items():
        assert len(model[key]) <= limit, key


def test_a_driver_name_maps_to_one_model_only():
    names = [name for model in ACCELERATORS for name in model["nvml_names"]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("model", ACCELERATORS, ids=lambda model: model["code"])
def test_unknown_figures_are_documented(model):
    notes = FIGURE_NOTES.get(model["code"], {})
    for field in ("fp32_tflops", "tdp_w"):
        if model[field] == 0:
            assert field in notes, f"{model['code']}.{field} is 0 but not explained in FIGURE_NOTES"


def test_figure_notes_refer_to_real_models_and_fields():
    codes = {model["code"] for model in ACCELERATORS}
    for code, notes in FIGURE_NOTES.items():
        assert code in codes
        assert set(notes) <= set(ACCELERATOR_KEYS)


@pytest.mark.parametrize("model", ACCELERATORS, ids=lambda model: model["code"])
def test_slicing_mode_agrees_with_profiles(model):
    if model["slicing"] in ("mig", "vnpu"):
        assert model["profiles"], "MIG and vNPU models need their fixed profiles"
    else:
        assert model["profiles"] == [], "fractional and whole models have no fixed profiles"


@pytest.mark.parametrize("model", ACCELERATORS, ids=lambda model: model["code"])
def test_profile_names_are_unique_per_model(model):
    names = [profile["name"] for profile in model["profiles"]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("item", _profiles(), ids=_profile_id)
def test_every_profile_fits_its_device(item):
    model, profile = item
    assert set(profile) == set(PROFILE_KEYS)
    for key, kind in PROFILE_KEYS.items():
        assert type(profile[key]) is kind, key
    assert 0 < profile["compute_milli"] <= 1000
    assert 0 < profile["memory_mib"] <= model["memory_mib"]
    assert profile["max_per_device"] >= 1
    # round() per instance may overshoot by at most half a milli each
    assert profile["compute_milli"] * profile["max_per_device"] <= 1000 + profile["max_per_device"] // 2 + 1
    assert profile["memory_mib"] * profile["max_per_device"] <= model["memory_mib"]


@pytest.mark.parametrize("item", [i for i in _profiles() if i[0]["slicing"] == "mig"], ids=_profile_id)
def test_mig_compute_share_is_slices_over_seven(item):
    _, profile = item
    slices = int(profile["name"].split("g.", 1)[0])
    assert profile["compute_milli"] == round(1000 * slices / 7)


def test_mig_profile_tables_match_the_nvidia_guide():
    a100_40 = {p["name"]: p["max_per_device"] for p in _by_code("nvidia-a100-40gb")["profiles"]}
    assert a100_40 == {"1g.5gb": 7, "1g.10gb": 4, "2g.10gb": 3, "3g.20gb": 2, "4g.20gb": 1, "7g.40gb": 1}
    for code in ("nvidia-a100-80gb", "nvidia-a800-80gb", "nvidia-h100-80gb"):
        table = {p["name"]: p["max_per_device"] for p in _by_code(code)["profiles"]}
        assert table == {"1g.10gb": 7, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 2, "4g.40gb": 1, "7g.80gb": 1}
    h20 = {p["name"]: p["max_per_device"] for p in _by_code("nvidia-h20-96gb")["profiles"]}
    assert h20 == {"1g.12gb": 7, "1g.24gb": 4, "2g.24gb": 3, "3g.48gb": 2, "4g.48gb": 1, "7g.96gb": 1}


def test_the_whole_device_mig_profile_is_a_full_share():
    for model in ACCELERATORS:
        if model["slicing"] == "mig":
            assert max(p["compute_milli"] for p in model["profiles"]) == 1000


@pytest.mark.parametrize("model", ACCELERATORS, ids=lambda model: model["code"])
def test_every_source_id_exists(model):
    assert model["source_ids"]
    for source_id in model["source_ids"]:
        assert source_id in SOURCES


def test_sources_are_described():
    assert all(isinstance(text, str) and len(text) > 20 for text in SOURCES.values())


# --- regions -----------------------------------------------------------------------------------------------------

def test_every_seeded_region_has_facts():
    assert set(REGION_FACTS) == set(REGION_CODES)
    assert set(TARIFF_POLICIES) == set(REGION_CODES)
    assert set(TARIFF_POLICIES.values()) <= set(REGION_SOURCES)


@pytest.mark.parametrize("code", REGION_CODES)
def test_region_facts_have_the_required_keys_and_types(code):
    facts = REGION_FACTS[code]
    assert set(facts) == set(REGION_KEYS)
    for key, kind in REGION_KEYS.items():
        assert type(facts[key]) is kind, key
    assert facts["timezone"] == "Asia/Shanghai"
    assert facts["hub"] in HUBS
    assert Decimal("0.1") < facts["electricity_cny_per_kwh"] < Decimal("2")


def _hours(windows):
    hours = []
    for start, end in windows:
        hours.extend(range(start, end))
    return hours


@pytest.mark.parametrize("code", REGION_CODES)
def test_tariff_windows_are_valid_hours(code):
    facts = REGION_FACTS[code]
    assert facts["peak_hours"] and facts["off_peak_hours"]
    for window in facts["peak_hours"] + facts["off_peak_hours"]:
        assert isinstance(window, tuple) and len(window) == 2
        start, end = window
        assert type(start) is int and type(end) is int
        assert 0 <= start < end <= 24


@pytest.mark.parametrize("code", REGION_CODES)
def test_peak_and_off_peak_windows_do_not_overlap(code):
    peak = _hours(REGION_FACTS[code]["peak_hours"])
    off_peak = _hours(REGION_FACTS[code]["off_peak_hours"])
    assert len(peak) == len(set(peak)), "peak windows overlap each other"
    assert len(off_peak) == len(set(off_peak)), "off-peak windows overlap each other"
    assert not set(peak) & set(off_peak)


def test_latency_covers_every_unordered_pair_exactly_once():
    pairs = [frozenset(key) for key in LATENCY_MS]
    assert all(len(pair) == 2 for pair in pairs), "no self-pairs"
    assert len(pairs) == len(set(pairs)), "each unordered pair only once"
    assert set(pairs) == {frozenset(pair) for pair in itertools.combinations(REGION_CODES, 2)}


def test_latencies_are_positive_integers():
    assert all(type(ms) is int and ms > 0 for ms in LATENCY_MS.values())


def test_latency_lookup_is_symmetric_and_zero_for_self():
    for a, b in itertools.product(REGION_CODES, repeat=2):
        assert latency_ms(a, b) == latency_ms(b, a)
        assert (latency_ms(a, b) == 0) == (a == b)


def test_regions_of_one_hub_are_within_the_hub_latency_target():
    for a, b in itertools.combinations(REGION_CODES, 2):
        if REGION_FACTS[a]["hub"] == REGION_FACTS[b]["hub"]:
            assert latency_ms(a, b) <= 20
