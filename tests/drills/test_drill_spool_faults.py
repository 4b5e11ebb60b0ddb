"""Drill 4: the spool itself fails.

- On a full filesystem (a 256 KiB tmpfs) while the database is stopped: once the spool cannot
  be written the ingest stops confirming (OCPP: a CALLERROR, so the charger keeps the message
  and sends it again; MQTT: no acknowledgement, so the broker keeps it) instead of dying; once
  the database is back the spool drains, and everything acknowledged is stored once.
- With damage in it: garbage before the first record and a torn record at the end, written
  into the spool of a stopped ingest. Started again, it replays the good records, quarantines the
  damage (``<spool>.quarantine``) and serves.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from drill_load import detail, started
from drill_tally import assert_stored_once

pytestmark = pytest.mark.drill

DISK = "256k"
BEFORE_S, FULL_S, AFTER_S = 2.0, 10.0, 4.0
STAGE_S = 2.0
GARBAGE = b"this is not a spool record: a disk block from somewhere else\n"
TORN_BYTES = 20  # the start of a record, as a crash mid-append leaves it


@pytest.fixture
def small_disk() -> Iterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="wattline-drill-disk-"))
    mount = ["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(where)]
    done = subprocess.run(mount, capture_output=True, text=True)
    if done.returncode:
        where.rmdir()
        pytest.skip(
            f"FULL-DISK DRILL NOT RUN: cannot mount a {DISK} tmpfs ({done.stderr.strip()}); "
            "it needs root (or CAP_SYS_ADMIN)"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
        shutil.rmtree(where, ignore_errors=True)


async def test_spool_on_a_full_disk_stops_confirming_then_stores_everything(
    cluster, database, live_broker, ingests, small_disk, report
):
    ocpp = ingests.ocpp(database, spool=small_disk / "ocpp.spool")
    mqtt = ingests.mqtt(database, live_broker, spool=small_disk / "mqtt.spool")
    _, _, load = await started(ingests, database, live_broker, "FULL", ocpp=ocpp, mqtt=mqtt)
    fleet = load.fleet
    load.start()
    try:
        await asyncio.sleep(BEFORE_S)
        await asyncio.to_thread(cluster.stop, "fast")
        await asyncio.sleep(FULL_S)
        refused_while_full = fleet.refused
        alive_while_full = ocpp.alive() and mqtt.alive()
        await asyncio.to_thread(cluster.start)
        await asyncio.sleep(AFTER_S)
    finally:
        await load.finish(timeout_s=15)
    total, ocpp_tally, mqtt_tally = await load.tally(database, timeout_s=15)
    report(
        f"{total.line()} ({detail(ocpp_tally, mqtt_tally)}; {refused_while_full} CALLERRORs "
        f"while the {DISK} spool disk was full, each sent again until confirmed)"
    )

    assert alive_while_full and ocpp.alive() and mqtt.alive()
    assert refused_while_full > 0, "the chargers were never told the data could not be kept"
    assert all("InternalError" in e for c in fleet.chargers for e in c.errors)
    assert "Traceback" not in ocpp.log_text()  # one line a refusal, not a stack each
    assert fleet.unsent == 0 and load.unconfirmed_publishes == 0
    assert_stored_once(total)
    assert ocpp.spool_bytes() == 0 and mqtt.spool_bytes() == 0


async def test_torn_spool_record_is_quarantined_and_the_rest_replayed(
    cluster, database, live_broker, ingests, report
):
    ocpp, mqtt, load = await started(ingests, database, live_broker, "TORN")
    fleet = load.fleet
    load.start()
    try:
        # The meters must be known to the MQTT ingest before the database goes: one started
        # while it is away cannot look them up, and leaves their messages at the broker.
        await asyncio.sleep(STAGE_S)
        await asyncio.to_thread(cluster.stop, "fast")
        await asyncio.sleep(STAGE_S)
        await asyncio.gather(asyncio.to_thread(ocpp.stop), asyncio.to_thread(mqtt.stop))
        spooled = {i.kind: i.spool_bytes() for i in (ocpp, mqtt)}
        for ingest in (ocpp, mqtt):
            _damage(ingest.spool)
        await asyncio.to_thread(cluster.start)
        await asyncio.gather(asyncio.to_thread(ocpp.start), asyncio.to_thread(mqtt.start))
        served_from = fleet.acknowledged
        await asyncio.sleep(STAGE_S)
    finally:
        await load.finish(timeout_s=15)
    total, ocpp_tally, mqtt_tally = await load.tally(database, timeout_s=15)
    quarantined = {i.kind: _quarantined(i.spool) for i in (ocpp, mqtt)}
    report(
        f"{total.line()} ({detail(ocpp_tally, mqtt_tally)}; spools of {spooled['ocpp']:,} and "
        f"{spooled['mqtt']:,} bytes damaged; quarantined: {_counts(quarantined)})"
    )

    assert spooled["ocpp"] > 0 and spooled["mqtt"] > 0
    assert fleet.acknowledged > served_from  # the restarted ingest serves
    assert fleet.unsent == 0 and load.unconfirmed_publishes == 0
    assert_stored_once(total)
    for kind, entries in quarantined.items():
        texts = [e.get("data", "") for e in entries]
        assert any(GARBAGE.decode().strip() in t for t in texts), (kind, entries)
        assert len(entries) == 2, (kind, entries)  # the garbage and the torn tail
    assert ocpp.spool_bytes() == 0 and mqtt.spool_bytes() == 0
    assert ocpp.alive() and mqtt.alive()


def _damage(spool: Path) -> None:
    """Garbage before the first record (where a record starts, whatever the format) and the
    first bytes of a record after the last."""
    good = spool.read_bytes()
    spool.write_bytes(GARBAGE + good + good[:TORN_BYTES])


def _quarantined(spool: Path) -> list[dict]:
    path = spool.with_name(spool.name + ".quarantine")
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _counts(quarantined: dict[str, list]) -> str:
    return ", ".join(f"{kind} {len(entries)}" for kind, entries in quarantined.items())
