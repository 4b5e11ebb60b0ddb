"""The demo's history fill (wattline.demo_fill) through a real central system: every planned
session arrives, in the past, with the planned energy, and the chargers then carry on live."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from ocpp_support import query

from ingest.mqtt.config import MqttConfig
from wattline import demo_fill, demo_setup
from wattline.demo_history import plan

NAMES = ["DF-0001", "DF-0002", "DF-0003"]


async def test_fill_sends_the_plan_then_goes_live(central, db_url):
    wall = datetime.now(UTC)
    devices = demo_fill.DemoDevices(
        demo_fill.FillOptions(
            chargers=NAMES,
            meters=1,
            days=2,
            ocpp_url=f"ws://127.0.0.1:{central.port}/ocpp",
            # Nobody subscribes to this prefix: the meters' side is tested through MQTT elsewhere.
            mqtt=MqttConfig(topic_prefix=f"fill-{uuid.uuid4().hex[:8]}/meters"),
            meter_prefix="DFM",
            ocpp="mix",
        ),
        now=wall - timedelta(days=1),  # history ends a day ago: live sessions are told apart
    )
    kw = devices.max_power_kw()
    demo_setup.apply(db_url, [demo_setup.Charger(n, kw[n]) for n in NAMES], [])
    devices.start_all()
    try:
        for _ in range(240):
            if all(c.live for c in devices.fleet.chargers):
                break
            await asyncio.sleep(0.25)
        assert all(c.live for c in devices.fleet.chargers), "the fill did not finish in 60 s"
        assert not devices.errors
    finally:
        devices.stop()
    # Count and energy follow from the seed alone (the end only moves the times).
    planned = plan(NAMES, 2, datetime(2026, 1, 1, tzinfo=UTC), seed=17)
    rows = query(
        db_url,
        "SELECT charge_point_id, started_at, stop_reason, meter_stop_wh - meter_start_wh AS wh"
        " FROM wattline.transactions WHERE started_at < %s AND stopped_at IS NOT NULL"
        " ORDER BY charge_point_id, started_at",
        [wall - timedelta(hours=12)],
    )
    assert len(rows) == len(planned)
    assert all(r["started_at"] >= wall - timedelta(days=3, minutes=1) for r in rows)
    wanted: dict[str, list[int]] = defaultdict(list)
    for p in sorted(planned, key=lambda p: (p.charger, p.start)):
        wanted[p.charger].append(p.energy_wh)
    got: dict[str, list[tuple]] = defaultdict(list)
    for r in rows:
        got[r["charge_point_id"]].append((r["stop_reason"], r["wh"]))
    for name in NAMES:
        assert len(got[name]) == len(wanted[name])
        for (reason, wh), energy_wh in zip(got[name], wanted[name], strict=True):
            if reason == "Other":  # a simulated fault stops the session at half or more
                assert energy_wh / 2 - 1 <= wh <= energy_wh + 1
            else:  # registers go out in whole Wh
                assert abs(wh - energy_wh) <= 1
    # Each connector got its simulated charger's power, so no reading was held as suspect.
    (suspect,) = query(
        db_url, "SELECT count(*) AS n FROM wattline.meter_values WHERE quality <> 'ok'"
    )
    assert suspect["n"] == 0
