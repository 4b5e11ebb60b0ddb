"""Registers that glitch, real resets and suspect deltas (migration 0018), through the real
writer and PostgreSQL, on every way a reading can be written: straight in with deltas from the
writer's memory, from a fresh writer that must read the last reading first, late (the SQL merge
recomputes what follows), and staged and merged in SQL alone. Each is checked against rows and
rollup energy worked out by hand."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from ingest.writer import Batch, Writer
from sql import db, queries, rollups

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
METER = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
REGISTER = uuid.UUID("00000000-0000-0000-0000-0000000000b1")
SERIAL = "GLITCH-1"
CP = "CP-G"


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def meter_row(minute: int, wh: int) -> tuple:
    return (at(minute), NOW, REGISTER, METER, "SINGLE", Decimal(wh), Decimal(0), None, None, "ok")


def charger_row(minute: int, wh: int) -> tuple:
    return (at(minute), NOW, CP, 1, None, "Energy.Active.Import.Register", "", "Outlet",
            "Sample.Periodic", "Wh", Decimal(wh), "ok")  # fmt: skip


SIDES = {
    # target, row maker, stored rows (minute, value, delta, reference, held, quality), rollup
    # energy (hourly table, daily table, its energy column, filter)
    "register_readings": (
        meter_row,
        "SELECT extract(epoch FROM time - %s)::int / 60, import_wh, delta_import_wh,"
        " reference_import_wh, held_import_wh, quality FROM wattline.register_readings"
        " WHERE register_id = %s ORDER BY time",
        REGISTER,
        "SELECT bucket, import_wh FROM wattline.{} WHERE meter_id = %s ORDER BY bucket",
        METER,
        ("meter_energy_5m", "meter_energy_hourly", "meter_energy_daily"),
    ),
    "meter_values": (
        charger_row,
        "SELECT extract(epoch FROM time - %s)::int / 60, value, delta, reference, held, quality"
        "  FROM wattline.meter_values WHERE charge_point_id = %s ORDER BY time",
        CP,
        "SELECT bucket, energy_wh FROM wattline.{} WHERE charge_point_id = %s ORDER BY bucket",
        CP,
        ("connector_energy_hourly", "connector_energy_daily"),
    ),
}


def setup_devices(url: str, meter_kw: str | None = None, connector_kw: str | None = None):
    with psycopg.connect(db.with_session_options(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.meter_registry (id, serial, max_power_kw) VALUES (%s, %s, %s)",
            [METER, SERIAL, meter_kw],
        )
        conn.execute(
            "INSERT INTO wattline.meter_registers (register_id, meter_id, element)"
            " VALUES (%s, %s, 'SINGLE')",
            [REGISTER, METER],
        )
        conn.execute("INSERT INTO wattline.charge_points (id) VALUES (%s)", [CP])
        conn.execute(
            "INSERT INTO wattline.connectors (charge_point_id, connector_id, max_power_kw)"
            " VALUES (%s, 1, %s)",
            [CP, connector_kw],
        )


def merge_only(url: str, target: str, rows: list[tuple]) -> None:
    """Stage and merge in SQL, as a writer does for rows it cannot vouch for."""
    from ingest.writer import TARGETS

    stage, columns, merge = TARGETS[target]
    with psycopg.connect(db.with_session_options(url)) as conn:
        conn.execute(queries.get("create_staging"))
        with conn.cursor().copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(queries.get(merge))


async def write(url: str, target: str, batches: list[list[int]], readings: dict, how: str):
    """Write ``readings`` (minute -> Wh) in ``batches`` of minutes, ``how``: one writer
    throughout, a fresh writer for every batch, or no writer at all (SQL merge only)."""
    make = SIDES[target][0]
    writer = None
    counts = [0, 0]  # rows the writers wrote direct, and merged

    async def done(w: Writer) -> None:
        await w.stop()
        counts[0] += w.rows_direct
        counts[1] += w.rows_merged

    for minutes in batches:
        rows = [make(m, readings[m]) for m in minutes]
        if how == "merge":
            merge_only(url, target, rows)
            continue
        if writer is None or how == "fresh":
            if writer is not None:
                await done(writer)
            writer = Writer(url)
            await writer.start()
        b = Batch()
        for r in rows:
            b.add(target, r)
        await writer.write(b)
    if writer is not None:
        await done(writer)
    return counts


def stored(url: str, target: str) -> list[tuple]:
    _, query, key, *_ = SIDES[target]
    with psycopg.connect(db.with_session_options(url)) as conn:
        return conn.execute(query, [T0, key]).fetchall()


def energy(url: str, target: str) -> dict[str, list[tuple]]:
    """Each rollup's (bucket hour:minute, Wh), refreshed first."""
    _, _, _, query, key, tables = SIDES[target]
    with psycopg.connect(db.with_session_options(url), autocommit=True) as conn:
        rollups.refresh(conn)
        return {
            t: [
                (b.astimezone(UTC).strftime("%H:%M"), wh)
                for b, wh in conn.execute(query.format(t), [key]).fetchall()
            ]
            for t in tables
        }


GLITCH = {57: 1_233_950, 58: 1_234_000, 59: 0, 61: 1_234_100}
# 08:57 is the series' first reading; 08:58 adds 50; 08:59 drops to 0 (adds 0, and remembers
# 1,234,000); 09:01 is measured against 1,234,000: 100 Wh, not 1,234,100.
GLITCH_ROWS = [
    (57, 1_233_950, 0, None, None, "ok"),
    (58, 1_234_000, 50, None, None, "ok"),
    (59, 0, 0, 1_234_000, None, "reset"),
    (61, 1_234_100, 100, None, None, "ok"),
]
ORDERS = {
    "direct": ("writer", [[57], [58], [59], [61]]),
    "fresh_writer": ("fresh", [[57], [58], [59], [61]]),
    # 08:59 and 09:01 go direct (09:01 adds 150 against 1,233,950, the value before the drop);
    # the late 08:58 is merged: 08:59 now drops from 1,234,000, and 09:01 adds 100.
    "late": ("writer", [[57], [59, 61], [58]]),
    "merge_only": ("merge", [[61, 57], [59, 58]]),
}


@pytest.mark.parametrize("target", sorted(SIDES))
@pytest.mark.parametrize("order", sorted(ORDERS))
async def test_a_glitch_counts_only_the_energy_after_the_value_before_the_drop(
    db_url, target, order
):
    setup_devices(db_url)
    how, batches = ORDERS[order]
    await write(db_url, target, batches, GLITCH, how)
    assert stored(db_url, target) == GLITCH_ROWS
    rolled = energy(db_url, target)
    assert rolled[SIDES[target][5][-2]] == [("08:00", 50), ("09:00", 100)]  # hourly
    assert rolled[SIDES[target][5][-1]] == [("00:00", 150)]  # daily


@pytest.mark.parametrize(
    ("order", "direct", "merged"), [("direct", 4, 0), ("fresh_writer", 4, 0), ("late", 3, 1)]
)
async def test_each_order_takes_the_path_it_is_meant_to(db_url, order, direct, merged):
    setup_devices(db_url)
    how, batches = ORDERS[order]
    assert await write(db_url, "meter_values", batches, GLITCH, how) == [direct, merged]


RESET = {0: 1_000, 1: 0, 2: 50}
# 0 is a drop (remembers 1,000); 50 is below 1,000 but not below 0: a real reset, 50 - 0.
RESET_ROWS = [(0, 1_000, 0, None, None, "ok"), (1, 0, 0, 1_000, None, "reset"),
              (2, 50, 50, None, None, "ok")]  # fmt: skip


@pytest.mark.parametrize("target", sorted(SIDES))
@pytest.mark.parametrize("order", ["direct", "late", "merge_only"])
async def test_a_real_reset_counts_from_the_reading_after_the_drop(db_url, target, order):
    setup_devices(db_url)
    how, batches = {"direct": ("writer", [[0], [1], [2]]), "late": ("writer", [[0], [2], [1]]),
                    "merge_only": ("merge", [[2, 1, 0]])}[order]  # fmt: skip
    await write(db_url, target, batches, RESET, how)
    assert stored(db_url, target) == RESET_ROWS
    assert energy(db_url, target)[SIDES[target][5][-1]] == [("00:00", 50)]


# Meter at 6 kW: in 60 s at most 6000 W * 1.1 (wattline.suspect_tolerance_pct 10) / 60 = 110 Wh,
# plus wattline.suspect_tolerance_wh 100 = 210 Wh. Charger connector at 12 kW: 220 + 100 = 320.
SUSPECT = {
    "register_readings": ({0: 1000, 1: 1210, 2: 1211, 3: 1511, 4: 1611}, 210, 300),
    "meter_values": ({0: 1000, 1: 1320, 2: 1321, 3: 1721, 4: 1821}, 320, 400),
}


@pytest.mark.parametrize("target", sorted(SIDES))
@pytest.mark.parametrize("order", ["direct", "merge_only"])
async def test_a_jump_beyond_max_power_is_held_until_an_operator_accepts_it(db_url, target, order):
    setup_devices(db_url, meter_kw="6", connector_kw="12")
    readings, limit, held = SUSPECT[target]
    how, batches = ("writer", [[m] for m in readings]) if order == "direct" else (
        "merge", [list(readings)])  # fmt: skip
    await write(db_url, target, batches, readings, how)
    # Exactly the limit is not suspect; 300 (400) Wh in a minute is: held, delta 0.
    assert stored(db_url, target) == [
        (0, readings[0], 0, None, None, "ok"),
        (1, readings[1], limit, None, None, "ok"),
        (2, readings[2], 1, None, None, "ok"),
        (3, readings[3], 0, None, held, "suspect"),
        (4, readings[4], 100, None, None, "ok"),
    ]
    daily = SIDES[target][5][-1]
    assert energy(db_url, target)[daily] == [("00:00", limit + 1 + 100)]

    device = ["--meter", SERIAL] if target == "register_readings" else ["--charger", f"{CP}:1"]
    listed = cli(db_url, "suspect", *device)
    assert listed.stdout.count("\n") == 1 and f"held {held} Wh" in listed.stdout
    window = ["--from", "2024-03-01T08:03:00Z", "--to", "2024-03-01T08:04:00Z"]
    accepted = cli(db_url, "accept", *device, *window)
    assert accepted.stdout == f"accepted 1 reading(s): {held} Wh now counted in the rollups\n"
    assert stored(db_url, target)[3] == (3, readings[3], held, None, None, "accepted")
    assert energy(db_url, target)[daily] == [("00:00", limit + 1 + 100 + held)]
    if target == "register_readings":  # and the meter's settlement period 08:00-08:05 too
        with psycopg.connect(db.with_session_options(db_url)) as conn:
            periods = conn.execute(
                "SELECT period_start, import_wh FROM wattline.settlement_periods"
            ).fetchall()
        assert periods == [(T0, limit + 1 + 100 + held)]
    assert cli(db_url, "suspect").stdout == ""


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, "-m", "wattline.cli", "readings", *args],
        env={"DATABASE_URL": url, "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run


def test_accept_refuses_bad_input_in_one_line(db_url):
    for args, message in [
        (["accept", "--meter", SERIAL], "give the window to accept"),
        (["suspect", "--meter", "M", "--charger", "CP"], "not both"),
        (["suspect", "--from", "2024-03-01T08:00:00"], "has no time zone"),
    ]:
        run = subprocess.run(
            [sys.executable, "-m", "wattline.cli", "readings", *args],
            env={"DATABASE_URL": db_url, "PATH": "/usr/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2 and message in run.stderr and run.stderr.count("\n") == 1


async def test_a_new_max_power_is_seen_by_a_writer_that_remembers_the_old_one(db_url):
    setup_devices(db_url, meter_kw="6")
    writer = Writer(db_url)
    await writer.start()
    for minute, wh in [(0, 1000), (1, 1300)]:  # +300 at 6 kW: held
        b = Batch()
        b.add("register_readings", meter_row(minute, wh))
        await writer.write(b)
    with psycopg.connect(db.with_session_options(db_url), autocommit=True) as conn:
        conn.execute("UPDATE wattline.meter_registry SET max_power_kw = 60 WHERE id = %s", [METER])
    b = Batch()
    b.add("register_readings", meter_row(2, 1600))  # +300 at 60 kW (limit 1,200 Wh): counted
    await writer.write(b)
    await writer.stop()
    assert writer.rows_direct == 3
    assert [(r[2], r[4], r[5]) for r in stored(db_url, "register_readings")] == [
        (0, None, "ok"), (0, 300, "suspect"), (300, None, "ok")
    ]  # fmt: skip
