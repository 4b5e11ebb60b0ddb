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
        ("reading", "42", "a payload is a JSON object or a list of them, got a number"),
        ("reading", "[42]", "record 1 of 1: expected a JSON object, got a number"),
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
            "csq is out of range (0 to 31)",
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


# What PostgreSQL would refuse is refused here, record by record: the good record beside each
# bad one is kept, and the reason names the field.
def rec(fields: str) -> str:
    return '{"ts": "2024-01-27T11:00:00Z", ' + fields + "}"


TARIFF = '"standing_charge": 1, "unit_rate_element_a": 1, "activation_datetime": '


GOOD = rec('"import_wh": 7')


@pytest.mark.parametrize(
    ("kind", "bad", "reason"),
    [
        ("event", rec('"type": "a\\u0000b"'), "$.type contains NUL"),
        (
            "event",
            rec('"type": "x", "details": {"k\\u0000": 1}'),
            "a key in $.details contains NUL",
        ),
        ("reading", rec('"import_wh": 1, "\\u0000": 1'), "a key in $"),
        (
            "event",
            rec('"type": "x", "details": {"a": ["\\udc00"]}'),
            "$.details.a[0] contains a lone",
        ),
        ("reading", rec('"import_wh": NaN'), "import_wh is not a finite number"),
        ("event", rec('"type": "x", "details": {"v": [-Infinity]}'), "in details is not a finite"),
        ("reading", rec('"import_wh": 1e1000000'), "import_wh is out of range (|x| < 1e15)"),
        ("reading", rec('"import_wh": 1e15'), "out of range"),
        ("event", rec('"type": "x", "details": {"v": 1e1000000}'), "a number in details is out of"),
        ("balance", rec('"balance": -1e400'), "balance is out of range"),
        ("health", rec('"csq": 9, "clock_time_diff_seconds": 1099511627776'), "(-2147483648 to 21"),
        ("health", rec('"csq": 1e1000000, "clock_time_diff_seconds": 0'), "csq is out of range"),
        ("reading", '{"ts": "1970-01-01T00:00:00Z", "import_wh": 1}', "before 2000-01-01 (is the"),
        ("reading", '{"ts": "9999-12-31T23:59:59-14:00", "import_wh": 1}', "600 s ahead"),
        ("tariff", rec('"future": {' + TARIFF + '"9999-12-31T23:59:59Z"}'), "future: activation_"),
        ("tariff", rec('"active": {' + TARIFF + '"1970-01-01T00:00:00Z"}'), "is before 2000-01-01"),
        ("event", rec('"type": "x", "details": {"s": "' + "x" * 70_000 + '"}'), "70008 characters"),
    ],
)
def test_what_the_database_would_refuse_costs_only_its_record(kind, bad, reason):
    good = {
        "reading": GOOD,
        "event": rec('"type": "ok"'),
        "balance": rec('"balance": 1'),
        "health": rec('"csq": 9, "clock_time_diff_seconds": -75'),
        "tariff": rec('"active": {' + TARIFF + '"2024-01-01T00:00:00Z"}'),
    }[kind]
    p = parse(kind, f"[{good}, {bad}]")
    assert len(p.records) == 1 and p.records[0].ts == TS
    assert len(p.errors) == 1 and p.errors[0].startswith("record 2 of 2: "), p.errors
    assert reason in p.errors[0], p.errors


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "JSON nested deeper than 16 levels"),
        ('"a reading"', "a payload is a JSON object or a list of them, got a string"),
        ("null", "a payload is a JSON object or a list of them, got null"),
        ("true", "a payload is a JSON object or a list of them, got a boolean"),
        ('{"ts": "2024-01-27T11:00:00Z", "import_wh": 1}\x00', "bad JSON"),
    ],
)
def test_a_payload_that_cannot_be_read_as_records_is_one_refusal(payload, reason):
    p = parse("reading", payload)
    assert p.records == [] and len(p.errors) == 1 and reason in p.errors[0], p.errors


def test_the_lowest_time_can_be_set():
    text = (
        '[{"ts": "2009-12-31T23:59:59Z", "import_wh": 1},'
        ' {"ts": "2010-01-01T00:00:00Z", "import_wh": 2}]'
    )
    p = payloads.parse(
        "reading", text.encode(), NOW, timedelta(minutes=10), datetime(2010, 1, 1, tzinfo=UTC)
    )
    assert [r.import_wh for r in p.records] == [2]
    assert p.errors == [
        "record 1 of 2: ts 2009-12-31T23:59:59+00:00 is before 2010-01-01"
        " (is the device's clock set?)"
    ]


def test_escapes_that_are_text_pass():
    # An emoji as a surrogate pair, an escaped quote, control characters other than NUL.
    p = parse(
        "event",
        '{"ts": "2024-01-27T11:00:00Z", "type": "\\ud83d\\ude00 \\"x\\" \\u0001",'
        ' "details": {"n": 123456789012345.5e-1, "t": 1.000000000000000}}',
    )
    assert p.errors == []
    assert p.records[0].event_type == '\U0001f600 "x" \x01'
    assert p.records[0].details == '{"n":12345678901234.55,"t":1}'
