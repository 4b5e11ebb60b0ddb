"""What PostgreSQL would refuse is refused at the edge, through the real broker and database:
each bad record is one reject row with its reason, the good records of the same message are
stored, another meter's messages in the same groups are all stored, and the ingest runs on.
A message whose reject row cannot be committed is not acknowledged, and is stored once when it
is tried again or delivered again."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import psycopg
from databases import Server
from mqtt_support import eventually, running
from psycopg import sql as pgsql

from sql import db

T0 = datetime(2024, 1, 27, 9, 0, tzinfo=UTC)


def iso(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def reading(minutes: float, wh: int) -> str:
    return json.dumps({"ts": iso(minutes), "import_wh": wh})


def event(minutes: float, kind: str = "ok") -> str:
    return json.dumps({"ts": iso(minutes), "type": kind})


# (kind, payload, reason of its one reject row). Each list's first record is good.
BAD = [
    (
        "event",
        f'[{event(1)}, {{"ts": "{iso(2)}", "type": "a\\u0000b"}}]',
        "record 2 of 2: $.type contains NUL (\\u0000), which PostgreSQL text cannot hold",
    ),
    (
        "reading",
        f'[{reading(1, 100)}, {{"ts": "{iso(2)}", "import_wh": 110, "k\\u0000": 1}}]',
        "record 2 of 2: a key in $ contains NUL",
    ),
    (
        "event",
        f'[{event(3)}, {{"ts": "{iso(4)}", "type": "x", "details": {{"note": "\\ud800"}}}}]',
        "record 2 of 2: $.details.note contains a lone UTF-16 surrogate",
    ),
    (
        "reading",
        f'[{reading(3, 120)}, {{"ts": "{iso(4)}", "import_wh": NaN}}]',
        "record 2 of 2: import_wh is not a finite number",
    ),
    (
        "balance",
        f'[{{"ts": "{iso(1)}", "balance": 4.5}}, {{"ts": "{iso(2)}", "balance": 1e1000000}}]',
        "record 2 of 2: balance is out of range (|x| < 1e15)",
    ),
    (
        "health",
        f'[{{"ts": "{iso(1)}", "csq": 20, "clock_time_diff_seconds": -3}},'
        f' {{"ts": "{iso(2)}", "csq": 20, "clock_time_diff_seconds": {2**40}}}]',
        "record 2 of 2: clock_time_diff_seconds is out of range (-2147483648 to 2147483647)",
    ),
    (
        "reading",
        f'[{reading(5, 130)}, {{"ts": "1970-01-01T00:00:00Z", "import_wh": 1}}]',
        "record 2 of 2: ts 1970-01-01T00:00:00+00:00 is before 2000-01-01"
        " (is the device's clock set?)",
    ),
    (
        "reading",
        f'[{reading(6, 140)}, {{"ts": "9999-12-31T23:59:59Z", "import_wh": 1}}]',
        "record 2 of 2: ts 9999-12-31T23:59:59+00:00 is more than 600 s ahead of the server's",
    ),
    ("reading", "[" * 100_000 + "]" * 100_000, "JSON nested deeper than 16 levels"),
    ("reading", '"import_wh: 5"', "a payload is a JSON object or a list of them, got a string"),
    ("event", f'{{"ts": "{iso(7)}", "type": "\xff\x00"}}', "payload is not UTF-8"),
]


def _payload(text: str) -> bytes:
    # latin-1 for the invalid UTF-8 case, which spells its bytes as \xff\x00.
    return text.encode("latin-1") if "\xff" in text else text.encode()


async def test_each_class_costs_one_reject_row_and_nothing_else(ingest, publisher, serial, query):
    other = f"{serial}B"
    minute = 0
    for kind, text, _ in BAD:
        publisher.send(serial, kind, _payload(text))
        # Another meter publishes between them: its readings share the groups of the bad ones.
        for _ in range(5):
            publisher.send(other, "reading", reading(minute, 1000 + 10 * minute).encode())
            minute += 1
    rejects = "SELECT key, reason, raw FROM ingest_rejects ORDER BY time, reason"
    found = await eventually(lambda: len(rows := query(rejects)) == len(BAD) and rows)
    by_reason = {reason: (key, raw) for key, reason, raw in found}
    for kind, text, reason in BAD:
        (stored,) = [r for r in by_reason if r.startswith(reason)]
        key, raw = by_reason[stored]
        assert key == f"{publisher.prefix}/{serial}/{kind}"
        if "\xff" not in text:
            assert raw == text  # escapes as sent: the row holds the payload as received
    # The invalid UTF-8 byte and the NUL byte after it, escaped.
    assert by_reason["payload is not UTF-8"][1] == f'{{"ts": "{iso(7)}", "type": "\\xff\\u0000"}}'

    # The good records of the same messages, counted by hand: readings at minutes 1, 3, 5, 6
    # (100, 120, 130, 140 Wh: 40 Wh between the first and the last), events at 1 and 3, one
    # balance, one health record.
    meter = "(SELECT id FROM meter_registry WHERE serial = %s)"
    summary = (
        f"SELECT count(*), sum(delta_import_wh) FROM register_readings WHERE meter_id = {meter}"
    )
    await eventually(lambda: query(summary, (serial,)) == [(4, 40)])
    events = f"SELECT time, event_type FROM meter_event_log WHERE meter_id = {meter} ORDER BY 1"
    assert query(events, (serial,)) == [
        (T0 + timedelta(minutes=1), "ok"),
        (T0 + timedelta(minutes=3), "ok"),
    ]
    balances = f"SELECT balance FROM meter_prepay_balance WHERE meter_id = {meter}"
    assert query(balances, (serial,)) == [(4.5,)]
    health = f"SELECT csq, clock_time_diff_seconds FROM meter_health WHERE meter_id = {meter}"
    assert query(health, (serial,)) == [(20, -3)]
    # The other meter: 55 readings, 1000 to 1540 Wh, every one stored.
    assert query(summary, (other,)) == [(55, 540)]
    # Every message was acknowledged, and the ingest stores the next one.
    await eventually(lambda: ingest.stored == len(BAD) + 55)
    publisher.send(other, "reading", reading(60, 1600).encode())
    await eventually(lambda: query(summary, (other,)) == [(56, 600)])


REFUSE = """
CREATE FUNCTION wattline.refuse_rejects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ingest_rejects is closed for this test';
END $$;
CREATE TRIGGER refuse_rejects BEFORE INSERT ON wattline.ingest_rejects
    FOR EACH ROW EXECUTE FUNCTION wattline.refuse_rejects();
"""
ALLOW = "DROP TRIGGER refuse_rejects ON wattline.ingest_rejects"
A_BAD_MESSAGE = f'[{reading(0, 500)}, {{"ts": "1970-01-01T00:00:00Z", "import_wh": 1}}]'


async def _refused_meanwhile(ingest, publisher, serial, query) -> None:
    """Publish the message whose reject row the database refuses, and another meter's readings
    after it; those are stored and acknowledged, the message is neither."""
    publisher.send(serial, "reading", A_BAD_MESSAGE.encode())
    for minute in range(10):
        publisher.send(f"{serial}B", "reading", reading(minute, 1000 + minute).encode())
    await eventually(lambda: query("SELECT count(*) FROM register_readings") == [(10,)])
    await eventually(lambda: ingest.stored == 10)
    await asyncio.sleep(1.5)  # a retry or two, refused again
    assert ingest.stored == 10
    assert query("SELECT count(*) FROM ingest_rejects") == [(0,)]


def _stored_once(query, serial: str):
    """The message's reject row and its good reading, once each."""
    rejects = query("SELECT key, reason FROM ingest_rejects")
    readings = query(
        "SELECT g.import_wh FROM register_readings g JOIN meter_registry r ON r.id = g.meter_id"
        " WHERE r.serial = %s",
        (serial,),
    )
    return len(rejects) == 1 and len(readings) == 1 and (rejects, readings)


async def test_a_message_whose_reject_row_is_refused_is_retried_until_it_is_stored(
    ingest, publisher, serial, query
):
    query(REFUSE)
    await _refused_meanwhile(ingest, publisher, serial, query)
    query(ALLOW)
    # Tried again within the backoff (1, 2, 4 s ...): its reading and its own reject row.
    rejects, readings = await eventually(lambda: _stored_once(query, serial), timeout=15)
    assert rejects == [
        (
            f"{publisher.prefix}/{serial}/reading",
            "record 2 of 2: ts 1970-01-01T00:00:00+00:00 is before 2000-01-01"
            " (is the device's clock set?)",
        )
    ]
    assert readings == [(500,)]
    await eventually(lambda: ingest.stored == 11)


async def test_a_message_whose_reject_row_is_refused_is_delivered_again_after_a_restart(
    mqtt_config, db_url, publisher, serial, query
):
    query(REFUSE)
    async with running(mqtt_config, db_url) as ingest:
        await _refused_meanwhile(ingest, publisher, serial, query)
    # Never acknowledged: the broker kept it in our session.
    query(ALLOW)
    async with running(mqtt_config, db_url) as ingest:
        await eventually(lambda: _stored_once(query, serial))
        await eventually(lambda: ingest.stored == 1)
    assert query("SELECT count(*) FROM register_readings") == [(11,)]


async def test_a_duplicate_of_a_bad_message_is_one_reject_row(ingest, publisher, serial, query):
    # The same bytes twice, as a QoS 1 publisher sends them again when its PUBACK is lost.
    text = f'[{reading(0, 500)}, {{"ts": "1970-01-01T00:00:00Z", "import_wh": 1}}]'
    for _ in range(2):
        publisher.send(serial, "reading", text.encode())
    publisher.send(serial, "reading", b"not json")
    publisher.send(serial, "reading", b"not json")
    await eventually(lambda: ingest.stored == 4)
    assert query("SELECT count(*) FROM register_readings") == [(1,)]
    assert query("SELECT reason, count(*) FROM ingest_rejects GROUP BY 1 ORDER BY 1") == [
        ("bad JSON: Expecting value: line 1 column 1 (char 0)", 1),
        (
            "record 2 of 2: ts 1970-01-01T00:00:00+00:00 is before 2000-01-01"
            " (is the device's clock set?)",
            1,
        ),
    ]


def _rename(server: Server, old: str, new: str) -> None:
    """Take the database away (or bring it back) under the ingest: its connections are cut and
    every new one is refused, as when the server is down."""
    for _ in range(50):
        server.admin(
            pgsql.SQL(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = {}"
            ).format(pgsql.Literal(old))
        )
        try:
            server.admin(
                pgsql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    *map(pgsql.Identifier, (old, new))
                )
            )
            return
        except psycopg.errors.ObjectInUse:  # the ingest reconnected in between
            continue
    raise AssertionError(f"could not rename {old}")


async def test_bad_messages_spooled_while_the_database_is_away_never_block_the_replay(
    mqtt_config, db_url, db_server, publisher, serial, query, tmp_path
):
    config = dataclasses.replace(
        mqtt_config, spool_path=str(tmp_path / "mqtt.spool"), registry_ttl_s=600.0
    )
    name = db.database_name(db_url)
    away = f"{name}_away"
    other = f"{serial}B"
    async with running(config, db_url) as ingest:
        # Both meters known (and cached) before the database goes away.
        publisher.send(serial, "reading", reading(0, 90).encode())
        publisher.send(other, "reading", reading(0, 1000).encode())
        await eventually(lambda: ingest.stored == 2)
        _rename(db_server, name, away)
        try:
            for i, (kind, text, _) in enumerate(BAD):
                publisher.send(serial, kind, _payload(text))
                publisher.send(other, "reading", reading(i + 1, 1001 + i).encode())
            # Spooled and acknowledged, bad ones as their reject rows.
            await eventually(lambda: ingest.stored == 2 + 2 * len(BAD), timeout=20)
        finally:
            _rename(db_server, away, name)
        # The replay stores all of it, and what comes after.
        publisher.send(other, "reading", reading(30, 1100).encode())
        summary = (
            "SELECT count(*), sum(delta_import_wh) FROM register_readings"
            " WHERE meter_id = (SELECT id FROM meter_registry WHERE serial = %s)"
        )
        await eventually(lambda: query(summary, (other,)) == [(len(BAD) + 2, 100)], timeout=20)
    assert query(summary, (serial,)) == [(5, 50)]  # 90, then 100, 120, 130, 140 Wh
    reasons = sorted(r for (r,) in query("SELECT reason FROM ingest_rejects"))
    assert len(reasons) == len(BAD)
    for _, _, reason in BAD:
        assert [r for r in reasons if r.startswith(reason)], reason
