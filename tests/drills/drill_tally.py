"""What a drill's clients were told against what the database holds, counted in SQL per
natural key: a charger's MeterValues by (charge point, time) of its energy register, a meter's
reading by (serial, time).

- acknowledged: CALLRESULTs the chargers received / PUBACKs the meters received
- stored: distinct messages found in the database
- lost: acknowledged and not stored
- doubled: keys stored more than once
- wrong: stored with another value than the one sent
- energy_off: devices whose deltas do not add up to last minus first register reading (energy
  counted twice, or not at all)
- frames_off: acknowledged MeterValues CALLs not kept exactly once in the frame log
  (ocpp_messages), e.g. a second copy from a replay
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import drill_chargers
import drill_meters
import psycopg
from drill_chargers import Fleet
from drill_meters import Meters

OCPP_ROWS = """
SELECT charge_point_id, time, count(*), min(value), max(value)
  FROM wattline.meter_values
 WHERE measurand = 'Energy.Active.Import.Register' AND charge_point_id = ANY(%(devices)s)
 GROUP BY 1, 2
"""
OCPP_ENERGY = """
SELECT charge_point_id, coalesce(sum(delta), 0), max(value) - min(value)
  FROM wattline.meter_values
 WHERE measurand = 'Energy.Active.Import.Register' AND charge_point_id = ANY(%(devices)s)
 GROUP BY 1
"""
OCPP_FRAMES = """
SELECT message_id, count(*)
  FROM wattline.ocpp_messages
 WHERE direction = 'in' AND action = 'MeterValues' AND charge_point_id = ANY(%(devices)s)
 GROUP BY 1
"""
MQTT_ROWS = """
SELECT m.serial, r.time, count(*), min(r.import_wh), max(r.import_wh)
  FROM wattline.register_readings r JOIN wattline.meter_registry m ON m.id = r.meter_id
 WHERE m.serial = ANY(%(devices)s)
 GROUP BY 1, 2
"""
MQTT_ENERGY = """
SELECT m.serial, coalesce(sum(r.delta_import_wh), 0), max(r.import_wh) - min(r.import_wh)
  FROM wattline.register_readings r JOIN wattline.meter_registry m ON m.id = r.meter_id
 WHERE m.serial = ANY(%(devices)s)
 GROUP BY 1
"""


@dataclass
class Tally:
    acknowledged: int
    stored: int
    lost: int
    doubled: int
    wrong: int
    energy_off: int
    frames_off: int = 0

    def line(self) -> str:
        return (
            f"acknowledged={self.acknowledged} stored={self.stored} lost={self.lost} "
            f"doubled={self.doubled}"
        )

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            *(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True))
        )


def assert_stored_once(t: Tally) -> None:
    """Every acknowledged message stored, once, with the value sent; energy adds up."""
    assert t.lost == 0 and t.doubled == 0, t
    assert t.wrong == 0 and t.energy_off == 0 and t.frames_off == 0, t
    assert t.stored == t.acknowledged, t


def _tally(url: str, rows_sql: str, energy_sql: str, devices: list[str], sent: dict) -> Tally:
    """``sent``: (device, time) -> the register value of each acknowledged message."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(rows_sql, {"devices": devices}).fetchall()
        energy = conn.execute(energy_sql, {"devices": devices}).fetchall()
    stored = {(device, at): (count, low, high) for device, at, count, low, high in rows}
    lost = sum(key not in stored for key in sent)
    wrong = sum(
        stored[key][1] != value or stored[key][2] != value for key, value in sent.items()
        if key in stored
    )  # fmt: skip
    return Tally(
        acknowledged=len(sent),
        stored=len(stored),
        lost=lost,
        doubled=sum(count > 1 for count, _, _ in stored.values()),
        wrong=wrong,
        energy_off=sum(Decimal(total) != Decimal(span) for _, total, span in energy),
    )


def ocpp(url: str, fleet: Fleet) -> Tally:
    sent: dict[tuple[str, datetime], int] = {}
    for c in fleet.chargers:
        for n in c.acknowledged:
            sent[(c.identity, c.time_of(n))] = drill_chargers.ENERGY0 + drill_chargers.STEP_WH * n
    devices = [c.identity for c in fleet.chargers]
    tally = _tally(url, OCPP_ROWS, OCPP_ENERGY, devices, sent)
    with psycopg.connect(url, autocommit=True) as conn:
        frames = dict(conn.execute(OCPP_FRAMES, {"devices": devices}).fetchall())
    acknowledged = [c.message_id(n) for c in fleet.chargers for n in c.acknowledged]
    tally.frames_off = sum(frames.get(i, 0) != 1 for i in acknowledged)
    return tally


def mqtt(url: str, meters: Meters) -> Tally:
    sent = {
        (serial, meters.time_of(n)): drill_meters.ENERGY0 + drill_meters.STEP_WH * n
        for serial, n in meters.acknowledged()
    }
    return _tally(url, MQTT_ROWS, MQTT_ENERGY, meters.serials, sent)


async def settled(*counts, timeout_s: float = 30.0) -> list[Tally]:
    """Poll the ``counts`` (run in a thread) until nothing acknowledged is missing in any, or
    the time is up; the last tallies either way."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        tallies = [await asyncio.to_thread(count) for count in counts]
        if all(t.lost == 0 for t in tallies) or asyncio.get_running_loop().time() > deadline:
            return tallies
        await asyncio.sleep(0.25)
