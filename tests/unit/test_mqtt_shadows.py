import pytest

from ingest.mqtt.shadows import health_status


@pytest.mark.parametrize(
    ("csq", "drift", "status"),
    [(10, 60, "healthy"), (9, 0, "unhealthy"), (31, 61, "unhealthy"), (20, -61, "unhealthy")],
)
def test_poor_signal_or_clock_drift_make_a_meter_unhealthy(csq, drift, status):
    assert health_status(csq, drift) == status
