from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ocpp.exceptions import FormationViolationError, PropertyConstraintViolationError

from ingest.clock import TimeWindow
from ingest.ocpp.normalise import (
    Rejected,
    Sample,
    connector_id,
    meter_reading,
    meter_values,
    sampled_value,
    timestamp,
    transaction_id,
)

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


NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1e1000000", "is out of range"),
        ("-1000000000000000", "is out of range"),
        ("12\x00", "is not a finite number"),
    ],
)
def test_a_sampled_value_the_database_would_refuse_is_rejected(text, reason):
    rejected = sampled_value(AT, {"value": text})
    assert isinstance(rejected, Rejected) and reason in rejected.reason


def test_the_range_holds_after_kilo_units_are_scaled():
    assert sampled_value(AT, {"value": "999999999999", "unit": "kWh"}).value == Decimal(
        "999999999999000"
    )
    rejected = sampled_value(AT, {"value": "1000000000000", "unit": "kWh"})
    assert isinstance(rejected, Rejected) and "Wh is out of range" in rejected.reason


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("9999-12-31T23:59:59-14:00", "600 s ahead"),
        ("2026-12-04T12:10:01Z", "600 s ahead"),
        ("1970-01-01T00:00:00Z", "before 2000-01-01"),
        ("1999-12-31T23:59:59Z", "before 2000-01-01"),
    ],
)
def test_sampled_values_stamped_outside_the_window_are_rejected_with_the_time(text, why):
    entry = {"timestamp": text, "sampled_value": [{"value": "1"}, {"value": "2"}]}
    found = meter_values([entry], WINDOW, NOW)
    assert [f.raw for f in found] == [{"value": "1"}, {"value": "2"}]
    assert all(isinstance(f, Rejected) for f in found)
    assert found[0].reason.startswith(f"meterValue.timestamp {text} ") and why in found[0].reason


def test_the_window_edges_are_inside():
    for text in ("2000-01-01T00:00:00Z", "2026-12-04T12:10:00Z"):
        entry = {"timestamp": text, "sampled_value": [{"value": "1"}]}
        assert isinstance(meter_values([entry], WINDOW, NOW)[0], Sample)


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**32 + 5, 2**63])
def test_transaction_ids_beyond_32_bits_are_a_property_constraint_violation(value):
    with pytest.raises(PropertyConstraintViolationError) as refused:
        transaction_id(value)
    assert "transactionId is out of range" in refused.value.description


def test_transaction_ids_within_32_bits_pass_offline_ones_too():
    assert [transaction_id(v) for v in (1, 2**31 - 1, -(2**31))] == [1, 2**31 - 1, -(2**31)]


@pytest.mark.parametrize("value", [10**15, -(10**15), 2**63, 10**4000])
def test_register_readings_beyond_range_are_refused_and_not_echoed_whole(value):
    with pytest.raises(PropertyConstraintViolationError) as refused:
        meter_reading(value, "meterStart")
    assert refused.value.description == "meterStart is out of range (|x| < 1e15)"
    assert len(str(refused.value.details["meterStart"])) <= 40


def test_connector_ids_are_int32_and_not_negative():
    assert connector_id(2**31 - 1) == 2**31 - 1
    for value in (-1, 2**31, 2**63):
        with pytest.raises(PropertyConstraintViolationError):
            connector_id(value)


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("9999999999999", True),  # 13 characters: the short path
        (".000000000001", True),
        ("99999999999999", True),  # 14: edge.storable decides
        ("999999999999999", True),
        ("1000000000000000", False),
        ("0.0000000000001", True),  # stored rounded: see test_edge.test_storable_rounds_float_noise
        ("1e15", False),
        ("1E+15", False),
        ("-1e15", False),
        ("sNaN", False),
        ("-Inf", False),
    ],
)
def test_short_and_long_sampled_values_are_judged_alike(text, ok):
    assert isinstance(sampled_value(AT, {"value": text, "measurand": "Voltage"}), Sample) is ok
