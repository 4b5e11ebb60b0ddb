"""Every kind of invalid payload lands in ingest_rejects with its reason; valid ones flow on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mqtt_support import eventually

TS = "2024-01-27T09:00:00Z"


async def test_each_kind_of_invalid_payload_is_kept_with_its_reason(
    ingest, publisher, serial, query
):
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    bad = [
        ("reading", b"{not json", "bad JSON"),
        ("reading", b"\xff\xfe", "payload is not UTF-8"),
        ("reading", {"ts": TS, "import_wh": "1000"}, "import_wh must be a number, got a string"),
        ("reading", {"ts": TS, "import_wh": True}, "import_wh must be a number, got a boolean"),
        ("reading", {"ts": TS, "element": "C", "import_wh": 1}, "unknown element 'C'"),
        ("reading", {"ts": TS, "import_wh": -5}, "import_wh must not be negative"),
        ("reading", b'{"ts": "2024-01-27T09:00:00Z", "import_wh": NaN}', "finite number"),
        ("reading", {"ts": tomorrow, "import_wh": 1}, "ahead of the server's clock"),
        ("reading", {"ts": "2024-01-27T09:00:00", "import_wh": 1}, "has no time zone"),
        ("reading", {"ts": TS, "import_kwh": 1}, "unknown field(s): import_kwh"),
        ("health", {"ts": TS, "csq": 40, "clock_time_diff_seconds": 0}, "csq is out of range"),
        ("balance", {"ts": TS}, "balance is required"),
        ("tariff", {"ts": TS, "active": {"standing_charge": 1}}, "active: unit_rate_element_a"),
        ("event", {"ts": TS, "type": "x", "severity": "fatal"}, "severity must be one of"),
        ("event", [], "empty list"),
    ]
    for kind, payload, _ in bad:
        publisher.send(serial, kind, payload)
    publisher.send("bad serial!", "reading", {"ts": TS, "import_wh": 1})
    # A list with one bad record: the good ones are stored.
    publisher.send(
        serial,
        "reading",
        [{"ts": TS, "import_wh": 10}, {"ts": TS}, {"ts": "2024-01-27T09:05:00Z", "import_wh": 12}],
    )
    rejects = "SELECT key, reason, raw FROM ingest_rejects WHERE source = 'mqtt' ORDER BY time"
    found = await eventually(lambda: len(rows := query(rejects)) == len(bad) + 2 and rows)
    for (kind, payload, reason), (key, stored_reason, raw) in zip(bad, found, strict=False):
        assert key == f"{publisher.prefix}/{serial}/{kind}"
        assert reason in stored_reason, (reason, stored_reason)
        if isinstance(payload, bytes) and payload != b"\xff\xfe":
            assert raw == payload.decode()
    assert found[-2][1] == "bad meter serial 'bad serial!'"
    assert found[-1][1] == "record 2 of 3: import_wh is required"
    assert found[1][2] == "\\xff\\xfe"
    assert query("SELECT count(*), sum(delta_import_wh) FROM register_readings") == [(2, 2)]
    # The ingest is alive and stores the next valid message.
    publisher.send(serial, "balance", {"ts": TS, "balance": 4.2})
    await eventually(lambda: query("SELECT count(*) FROM meter_prepay_balance") == [(1,)])
