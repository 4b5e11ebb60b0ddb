"""Unknown meters, reversed registers and replaced registers."""

from __future__ import annotations

import dataclasses

from mqtt_support import eventually, running

TS = ["2024-01-27T09:00:00Z", "2024-01-27T09:30:00Z", "2024-01-27T10:00:00Z"]


async def test_unknown_meters_are_refused_when_the_setting_says_so(
    mqtt_config, db_url, publisher, serial, query
):
    query("INSERT INTO meter_registry (serial) VALUES ('EMLKNOWN1')")
    query(
        "INSERT INTO meter_registers (meter_id, element) "
        "SELECT id, 'SINGLE' FROM meter_registry WHERE serial = 'EMLKNOWN1'"
    )
    config = dataclasses.replace(mqtt_config, allow_unknown_meters=False)
    async with running(config, db_url):
        publisher.send(serial, "reading", {"ts": TS[0], "import_wh": 5})
        publisher.send("EMLKNOWN1", "reading", {"ts": TS[0], "element": "A", "import_wh": 5})
        publisher.send("EMLKNOWN1", "reading", {"ts": TS[0], "import_wh": 5})
        await eventually(lambda: query("SELECT count(*) FROM register_readings") == [(1,)])
        assert query("SELECT reason FROM ingest_rejects ORDER BY time") == [
            (f"unknown meter '{serial}' (WATTLINE_ALLOW_UNKNOWN_METERS is off)",),
            ("meter has no enabled register for element A",),
        ]
        assert query("SELECT serial FROM meter_registry") == [("EMLKNOWN1",)]


async def test_a_reversed_register_swaps_import_and_export(ingest, publisher, serial, query):
    publisher.send(serial, "reading", {"ts": TS[0], "import_wh": 0})
    await eventually(lambda: query("SELECT count(*) FROM meter_registers") == [(1,)])
    query("UPDATE meter_registers SET direction_reversed = true")
    publisher.send(
        serial,
        "reading",
        {"ts": TS[1], "import_wh": 800, "export_wh": 0, "import_w": 1600, "export_w": 0},
    )
    rows = "SELECT import_wh, export_wh, import_w, export_w FROM register_readings ORDER BY time"
    await eventually(lambda: len(query(rows)) == 2)
    assert query(rows)[1] == (0, 800, 0, 1600)


async def test_a_replaced_register_starts_a_new_series(ingest, publisher, serial, query):
    publisher.send(
        serial, "reading", [{"ts": TS[0], "import_wh": 5000}, {"ts": TS[1], "import_wh": 5400}]
    )
    await eventually(lambda: query("SELECT count(*) FROM register_readings") == [(2,)])
    # The meter is swapped: the old register is retired and a new one starts from 0.
    query("UPDATE meter_registers SET status = 'replaced', replaced_at = now()")
    query("INSERT INTO meter_registers (meter_id, element) SELECT id, 'SINGLE' FROM meter_registry")
    publisher.send(
        serial, "reading", [{"ts": TS[1], "import_wh": 0}, {"ts": TS[2], "import_wh": 30}]
    )
    per_register = (
        "SELECT g.status, count(*), sum(delta_import_wh) FROM register_readings r "
        "JOIN meter_registers g USING (register_id) GROUP BY 1 ORDER BY 1"
    )
    await eventually(lambda: query(per_register) == [("enabled", 2, 30), ("replaced", 2, 400)])
