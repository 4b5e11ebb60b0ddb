"""2.0.1 sampled values shaped for 1.6's normaliser: a multiplier the server will not apply
must reject the reading, never store the bare value as if the multiplier were 0."""

from datetime import UTC, datetime
from decimal import Decimal

from ingest.clock import TimeWindow
from ingest.ocpp.normalise import Rejected, Sample
from ingest.ocpp201 import values

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOW = TimeWindow()


def _one(value, unit):
    entry = {
        "timestamp": NOW.isoformat(),
        "sampled_value": [{"value": value, "unit_of_measure": unit}],
    }
    (found,) = values.meter_values([entry], WINDOW, NOW)
    return found


def test_kwh_with_multiplier_3_is_wh_times_10_to_the_6():
    # 1.5 kWh x 10^3 = 1500 kWh = 1 500 000 Wh, computed by hand.
    found = _one(1.5, {"unit": "kWh", "multiplier": 3})
    assert isinstance(found, Sample) and found.value == Decimal("1500000")


def test_multiplier_beyond_nine_is_rejected_not_stored_unscaled():
    # 5 Wh x 10^12 is no plausible meter reading; before the fix it was stored as 5 Wh.
    assert isinstance(_one(5, {"unit": "Wh", "multiplier": 12}), Rejected)
    assert isinstance(_one(5, {"unit": "Wh", "multiplier": -12}), Rejected)
