import pytest


@pytest.fixture(autouse=True)
def _sample_gap(settings):
    from tests.oversight.fleet import SAMPLE_MAX_GAP_S

    settings.TIDEGRID_OVERSIGHT_SAMPLE_MAX_GAP_S = SAMPLE_MAX_GAP_S


@pytest.fixture
def fleet(db):
    from tests.oversight.fleet import build_fleet, rollup_month

    built = build_fleet()
    rollup_month()
    return built
