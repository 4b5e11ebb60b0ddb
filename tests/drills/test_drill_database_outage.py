"""Drill 1: the database stops mid-load (``pg_ctl stop -m fast``, what a restart or a
fail-over does to clients) while chargers send MeterValues and meters publish, and comes back.

Expected: both ingests keep confirming, into their spools (fsynced), while it is away; once it
is back they replay the spools and carry on; every acknowledged message is stored once."""

from __future__ import annotations

import asyncio

import pytest
from drill_load import DEVICES, INTERVAL_S, detail, started
from drill_tally import assert_stored_once

pytestmark = pytest.mark.drill

BEFORE_S, OUTAGE_S, AFTER_S = 3.0, 6.0, 3.0


async def test_database_stopped_mid_load_and_restarted(
    cluster, database, live_broker, ingests, report
):
    ocpp, mqtt, load = await started(ingests, database, live_broker, "OUTAGE")
    fleet = load.fleet
    load.start()
    try:
        await asyncio.sleep(BEFORE_S)
        await asyncio.to_thread(cluster.stop, "fast")
        confirmed_before = fleet.acknowledged
        await asyncio.sleep(OUTAGE_S)
        confirmed_during = fleet.acknowledged - confirmed_before
        spooled = (ocpp.spool_bytes(), mqtt.spool_bytes())
        await asyncio.to_thread(cluster.start)
        await asyncio.sleep(AFTER_S)
    finally:
        await load.finish()
    total, ocpp_tally, mqtt_tally = await load.tally(database)
    report(
        f"{total.line()} ({detail(ocpp_tally, mqtt_tally)}; {confirmed_during} MeterValues "
        f"confirmed during the {OUTAGE_S:.0f} s outage; spools {spooled[0]:,} and "
        f"{spooled[1]:,} bytes)"
    )

    # Chargers were answered while the database was away (from the spool), none refused.
    assert confirmed_during >= DEVICES * OUTAGE_S / INTERVAL_S / 2
    assert spooled[0] > 0 and spooled[1] > 0
    assert fleet.refused == 0 and fleet.unsent == 0 and load.unconfirmed_publishes == 0
    assert ocpp_tally.acknowledged == DEVICES * fleet.chargers[0].produced
    assert_stored_once(total)
    # Replayed: the spools are gone, and both processes still serve.
    assert ocpp.spool_bytes() == 0 and mqtt.spool_bytes() == 0
    assert ocpp.alive() and mqtt.alive()
