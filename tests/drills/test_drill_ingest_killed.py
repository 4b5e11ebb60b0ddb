"""Drill 2: `wattline ocpp` and `wattline mqtt` SIGKILLed mid-batch, then started again.

To be sure the kill lands mid-batch, a session of the drill holds a lock on the two series
tables, so the ingests' writes wait inside their transactions with messages received and not
yet answered; then both processes are killed, the lock released, and both started anew.

Expected: nothing in flight was confirmed, so nothing is lost; chargers reconnect and send
their unanswered CALL again (as a real charger does with its queue); the broker delivers the
unacknowledged QoS 1 messages again on the ingest's persistent session; each is stored once."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from drill_load import detail, started
from drill_tally import assert_stored_once

pytestmark = pytest.mark.drill

BEFORE_S, AFTER_S = 3.0, 3.0
BLOCKED_S = 1.0  # how long the writes wait on the lock before the kill
DOWN_S = 1.0  # between the kill and the restart


async def test_ingest_killed_mid_batch_and_restarted(database, live_broker, ingests, report):
    ocpp, mqtt, load = await started(ingests, database, live_broker, "KILLED")
    fleet = load.fleet
    load.start()
    try:
        await asyncio.sleep(BEFORE_S)
        async with await psycopg.AsyncConnection.connect(database) as lock:
            await lock.execute(
                "LOCK TABLE wattline.meter_values, wattline.register_readings IN SHARE MODE"
            )
            await asyncio.sleep(BLOCKED_S)
            in_flight = fleet.in_flight()
            confirmed_at_kill = fleet.acknowledged
            waiting = await _waiting_writes(lock)
            ocpp.kill()
            mqtt.kill()
            await lock.rollback()
        await asyncio.sleep(DOWN_S)
        await asyncio.gather(asyncio.to_thread(ocpp.start), asyncio.to_thread(mqtt.start))
        await asyncio.sleep(AFTER_S)
    finally:
        await load.finish()
    total, ocpp_tally, mqtt_tally = await load.tally(database)
    report(
        f"{total.line()} ({detail(ocpp_tally, mqtt_tally)}; killed with {in_flight} CALLs "
        f"unanswered and {waiting} writes waiting; {fleet.resent} CALLs sent again)"
    )

    assert in_flight == len(fleet.chargers) and waiting >= 2  # the kill landed mid-batch
    assert fleet.resent >= in_flight
    assert fleet.acknowledged > confirmed_at_kill  # the new process answers
    assert fleet.refused == 0 and fleet.unsent == 0 and load.unconfirmed_publishes == 0
    assert_stored_once(total)
    assert ocpp.exit_codes == mqtt.exit_codes == [-9]


async def _waiting_writes(conn: psycopg.AsyncConnection) -> int:
    """Sessions of the drill's database waiting for the lock: the ingests' writers."""
    cur = await conn.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    (count,) = await cur.fetchone()
    return count
