"""Drill 3: Mosquitto restarted under load (SIGTERM and start, as a service manager restarts
it), with the configuration we ship (deploy/mosquitto.conf: persistence, a deep queue).

Expected: meters and the ingest reconnect by themselves; what the broker acknowledged before
the restart, queued or in flight to the ingest, survives it (saved at shutdown) and is stored
once; readings a meter had sent and not yet seen acknowledged it sends again."""

from __future__ import annotations

import asyncio

import pytest
from drill_load import Load
from drill_tally import assert_stored_once

pytestmark = pytest.mark.drill

BEFORE_S, DOWN_S, AFTER_S = 3.0, 1.0, 4.0


async def test_broker_restarted_under_load(database, live_broker, ingests, report):
    mqtt = ingests.mqtt(database, live_broker)
    await asyncio.to_thread(mqtt.start)
    load = Load("BROKER", broker_port=live_broker.port, topic_prefix=ingests.topic_prefix)
    load.start()
    try:
        await asyncio.sleep(BEFORE_S)
        acknowledged_before = len(load.meters.acknowledged())
        await asyncio.to_thread(live_broker.stop)
        await asyncio.sleep(DOWN_S)
        await asyncio.to_thread(live_broker.start)
        await asyncio.sleep(AFTER_S)
    finally:
        await load.finish()
    total, _, _ = await load.tally(database)
    reconnects = len(mqtt.log_lines("lost the MQTT broker"))
    report(
        f"{total.line()} ({acknowledged_before} readings acknowledged before the restart; "
        f"the ingest reconnected after {reconnects} lost connection(s))"
    )

    assert reconnects >= 1 and mqtt.alive()
    assert load.unconfirmed_publishes == 0
    assert total.acknowledged > acknowledged_before
    assert_stored_once(total)
    assert not live_broker.dropped()
