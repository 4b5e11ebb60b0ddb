from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ocpp.exceptions import FormationViolationError

from ingest.clock import TimeWindow
from ingest.ocpp.normalise import Rejected, Sample, meter_values, sampled_value, timestamp

AT = datetime(2024, 1, 27, 9, 45, tzinfo=UTC)
WINDOW = TimeWindow()


@pytest.mark.parametrize(
    ("raw", "unit", "value"),
    [
        ({"value": "15.234", "unit": "kWh"}, "Wh", Decimal("15234")),
        ({"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"}, "W", Decimal(7200)),
        ({"value": "1.5", "measurand": "Energy.Reactive.Import.Register"}, "varh", Decimal("1.5")),
        ({"value": "230", "measurand": "Voltage"}, "V", Decimal(230)),
        ({"value": "45", "measurand": "SoC"}, "Percent", Decimal(45)),
        ({"value": "21", "measurand": "Temperature", "unit": "Celcius"}, "Celsius", Decimal(21)),
        ({"value": "300", "measurand": "Temperature", "unit": "K"}, "Celsius", Decimal("26.85")),
    ],
)
def test_values_are_stored_in_base_units(raw, unit, value):
    sample = sampled_value(AT, raw)
    assert isinstance(sample, Sample)
    assert (sample.unit, sample.value) == (unit, value)


def test_absent_fields_take_the_ocpp_defaults():
    sample = sampled_value(AT, {"value": "5123"})
    assert sample == Sample(
        AT, "Energy.Active.Import.Register", "", "Outlet", "Sample.Periodic", "Wh", Decimal(5123)
    )
    assert sample.is_main_register
    assert not sampled_value(AT, {"value": "1", "phase": "L1"}).is_main_register


@pytest.mark.parametrize("text", ["abc", "NaN", "nan", "Infinity", "-inf", "", "1,5"])
def test_a_value_that_is_not_a_finite_number_is_rejected_with_a_reason(text):
    rejected = sampled_value(AT, {"value": text})
    assert isinstance(rejected, Rejected)
    assert "not a finite number" in rejected.reason and rejected.raw == {"value": text}


def test_signed_data_is_rejected():
    assert isinstance(sampled_value(AT, {"value": "AB12", "format": "SignedData"}), Rejected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-27T09:45:00Z", AT),
        ("2024-01-27T15:15:00+05:30", AT),
        ("2024-01-27T09:45:00.000Z", AT),
    ],
)
def test_timestamps_are_read_with_their_zone(text, expected):
    assert timestamp(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01T00:00:00Z", "2024-01-27T09:45:00", ""])
def test_unparsable_or_zoneless_timestamps_are_a_formation_violation(text):
    with pytest.raises(FormationViolationError):
        timestamp(text)


def test_meter_values_flattens_every_sampled_value():
    found = meter_values(
        [
            {
                "timestamp": "2024-01-27T09:45:00Z",
                "sampled_value": [{"value": "1"}, {"value": "x"}],
            },
            {"timestamp": "2024-01-27T09:46:00Z", "sampled_value": [{"value": "2"}]},
        ],
        WINDOW,
        AT,
    )
    assert [type(f).__name__ for f in found] == ["Sample", "Rejected", "Sample"]
