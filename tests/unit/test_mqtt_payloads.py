from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ingest.mqtt import payloads
from ingest.mqtt.payloads import Balance, Event, Health, Reading, Tariff

NOW = datetime(2024, 1, 27, 12, 0, tzinfo=UTC)
TS = datetime(2024, 1, 27, 11, 0, tzinfo=UTC)


def parse(kind: str, text: str | bytes):
    data = text if isinstance(text, bytes) else text.encode()
    return payloads.parse(kind, data, NOW, timedelta(minutes=10))


def test_a_reading_defaults_to_the_single_element_and_zero_export():
    p = parse("reading", '{"ts": "2024-01-27T11:00:00Z", "import_wh": 1500.25}')
    assert p.errors == []
    assert p.records == [Reading(TS, "SINGLE", Decimal("1500.25"), Decimal(0), None, None)]


def test_a_list_keeps_the_good_records_and_names_the_bad_one():
    p = parse(
        "reading",
        '[{"ts": "2024-01-27T11:00:00Z", "element": "A", "import_wh": 1, "import_w": 20},'
        ' {"ts": "2024-01-27T11:00:00Z", "element": "B", "import_wh": -1}]',
    )
    assert [r.element for r in p.records] == ["A"]
    assert p.errors == ["record 2 of 2: import_wh must not be negative, got -1"]


@pytest.mark.parametrize(
    ("kind", "text", "reason"),
    [
        ("reading", "{", "bad JSON"),
        ("reading", "[]", "empty list"),
        ("reading", "42", "expected a JSON object, got a number"),
        ("reading", '{"ts": 5, "import_wh": 1}', "ts must be an ISO-8601 string, got a number"),
        ("reading", '{"ts": "yesterday", "import_wh": 1}', "ts is not an ISO-8601 time"),
        ("reading", '{"ts": "2024-01-27T11:00:00", "import_wh": 1}', "has no time zone"),
        ("reading", '{"ts": "2024-01-27T12:11:00Z", "import_wh": 1}', "ahead of the server"),
        ("reading", '{"ts": "2024-01-27T11:00:00Z", "import_wh": Infinity}', "finite number"),
        ("reading", '{"ts": "2024-01-27T11:00:00Z", "import_wh": NaN}', "finite number"),
        ("reading", '{"ts": "2024-01-27T11:00:00Z", "import_wh": null}', "import_wh is required"),
        ("reading", '{"ts": "2024-01-27T11:00:00Z", "import_wh": [1]}', "got a list"),
        ("reading", '{"ts": "2024-01-27T11:00:00Z", "element": "b", "import_wh": 1}', "element"),
        ("reading", '{"ts": "2024-01-27T11:00:00Z", "import_wh": 1, "x": 1}', "unknown field"),
        ("reading", '{"ts": "2024-01-27T11:00:00Z", "import_wh": "\\u0000"}', "NUL"),
        (
            "health",
            '{"ts": "2024-01-27T11:00:00Z", "csq": 12.5, "clock_time_diff_seconds": 0}',
            "whole",
        ),
        (
            "health",
            '{"ts": "2024-01-27T11:00:00Z", "csq": -1, "clock_time_diff_seconds": 0}',
            "0-31",
        ),
        (
            "health",
            '{"ts": "2024-01-27T11:00:00Z", "csq": 3}',
            "clock_time_diff_seconds is required",
        ),
        (
            "balance",
            '{"ts": "2024-01-27T11:00:00Z", "balance": 1, "emergency_credit": -2}',
            "negative",
        ),
        ("tariff", '{"ts": "2024-01-27T11:00:00Z"}', "needs 'active', 'future' or both"),
        ("tariff", '{"ts": "2024-01-27T11:00:00Z", "future": []}', "future must be an object"),
        ("event", '{"ts": "2024-01-27T11:00:00Z", "type": ""}', "type must be a string"),
        ("event", '{"ts": "2024-01-27T11:00:00Z", "type": "x", "details": 3}', "details must be"),
    ],
)
def test_invalid_records_are_refused_with_a_reason(kind, text, reason):
    p = parse(kind, text)
    assert p.records == []
    assert len(p.errors) == 1 and reason in p.errors[0], p.errors


def test_a_payload_that_is_not_utf8_is_refused():
    assert parse("reading", b"\xff").errors == ["payload is not UTF-8"]


def test_a_negative_balance_is_valid_because_emergency_credit_can_be_in_use():
    p = parse("balance", '{"ts": "2024-01-27T11:00:00Z", "balance": -3.2, "emergency_credit": 15}')
    assert p.records == [Balance(TS, Decimal("-3.2"), Decimal(15))]


def test_health_keeps_signal_drift_and_voltage():
    p = parse(
        "health",
        '{"ts": "2024-01-27T11:00:00+00:00", "csq": 9, "clock_time_diff_seconds": -75,'
        ' "voltage": 241.3}',
    )
    assert p.records == [Health(TS, 9, -75, Decimal("241.3"))]


def test_a_tariff_is_normalised_to_the_seed_json_with_an_aware_activation_time():
    p = parse(
        "tariff",
        '{"ts": "2024-01-27T11:00:00Z", "future": {"standing_charge": 0.5868,'
        ' "unit_rate_element_a": 0.2843, "activation_datetime": "2024-10-01T00:00:00+01:00"}}',
    )
    assert p.records == [
        Tariff(
            TS,
            None,
            {
                "standing_charge": 0.5868,
                "unit_rate_element_a": 0.2843,
                "activation_datetime": "2024-10-01T00:00:00+01:00",
            },
        )
    ]


def test_event_details_keep_their_numbers():
    p = parse(
        "event",
        '{"ts": "2024-01-27T11:00:00Z", "type": "top_up", "severity": "warning",'
        ' "details": {"amount": 10, "rate": 0.25, "ok": true}}',
    )
    assert p.records == [Event(TS, "top_up", "warning", '{"amount":10,"rate":0.25,"ok":true}')]
