"""Migration 0018 in both storage profiles: a glitch merged out of order counts only the energy
after the value before the drop, and an accepted suspect delta reaches the rollups (the postgres
profile's UPDATE triggers, TimescaleDB's continuous-aggregate invalidation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.writer import TARGETS
from sql import queries, rollups

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
METER = "00000000-0000-0000-0000-0000000000c1"
REGISTER = "00000000-0000-0000-0000-0000000000d1"
# 6 kW: at most 6000 W * 1.1 / 60 + 100 = 210 Wh a minute.
READINGS = {57: 1_233_950, 58: 1_234_000, 59: 0, 61: 1_234_100, 62: 1_234_500, 63: 1_234_600}


@pytest.fixture(params=["postgres", pytest.param("timescale", marks=pytest.mark.timescale)])
def conn(request):
    return request.getfixturevalue(f"{request.param}_conn")


def merge(conn, minutes: list[int]) -> None:
    """Stage (INSERT: the PGlite test server has no COPY FROM STDIN) and merge, as a writer."""
    stage, columns, name = TARGETS["register_readings"]
    with conn.transaction():
        conn.execute(queries.get("create_staging"))
        conn.cursor().executemany(
            f"INSERT INTO {stage} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * 10)})",
            [(T0 + timedelta(minutes=m), T0, REGISTER, METER, "SINGLE", READINGS[m], 0, None,
              None, "ok") for m in minutes],
        )  # fmt: skip
        conn.execute(queries.get(name))


def hourly(conn) -> list[tuple[str, int]]:
    rollups.refresh(conn)
    rows = conn.execute(
        "SELECT bucket, import_wh FROM wattline.meter_energy_hourly ORDER BY bucket"
    ).fetchall()
    daily = conn.execute("SELECT sum(import_wh) FROM wattline.meter_energy_daily").fetchone()[0]
    assert daily == sum(r[1] for r in rows)
    return [(b.astimezone(UTC).strftime("%H:%M"), wh) for b, wh in rows]


def test_glitch_and_accepted_suspect_in_the_rollups(conn):
    conn.execute(
        "INSERT INTO wattline.meter_registry (id, serial, max_power_kw) VALUES (%s, 'G-1', 6)",
        [METER],
    )
    conn.execute(
        "INSERT INTO wattline.meter_registers (register_id, meter_id, element)"
        " VALUES (%s, %s, 'SINGLE')",
        [REGISTER, METER],
    )
    merge(conn, [57, 59, 61, 62, 63])
    merge(conn, [58])  # late: 59 now drops from 1,234,000, and 61 counts 100
    # 08:58 +50; 09:01 +100 over 2 minutes (the limit is 320); 09:02 +400 held; 09:03 +100.
    assert hourly(conn) == [("08:00", 50), ("09:00", 200)]
    params = {"charge_point_id": None, "connector_id": None, "serial": "G-1",
              "lo": T0, "hi": T0 + timedelta(hours=2)}  # fmt: skip
    suspect = conn.execute(queries.get("suspect_readings"), params).fetchall()
    assert [(r[1], r[2], r[5]) for r in suspect] == [("G-1", "SINGLE import", 400)]
    moved = conn.execute(queries.get("accept_register_readings"), params).fetchall()
    assert [r[2] for r in moved] == [400]
    assert hourly(conn) == [("08:00", 50), ("09:00", 600)]
