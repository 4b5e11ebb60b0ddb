"""Benchmark data at scale: a fleet of smart meters reading every minute and a fleet of charge
points charging all day, generated inside PostgreSQL by bench/sql/generate.sql, then the rollups
refreshed the way `wattline jobs` does and the tables vacuumed and analysed.

Every row is a function of a device's number and the minute since ``t0`` (see generate.sql), so
sizes are parameters: the smoke test loads two meters for ten minutes, the benchmarks tens of
millions of rows."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.rows import tuple_row

from bench.common import connect, timed
from sql import rollups
from sql.queries import parse

GENERATE = parse((Path(__file__).parent / "sql" / "generate.sql").read_text(), "generate.sql")
T0 = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday, so weeks line up with the calendar
DAY = 1440  # minutes

Log = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


@dataclass(frozen=True)
class MeterFleet:
    """``meters`` single-register meters, each reading every minute for ``minutes`` from t0.
    A meter's import climbs by ``import_wh_per_min`` (×1, 2 or 3 by meter) plus a daily swing of
    up to 2 × ``import_peak_wh_per_min`` (×1 or 2); every fourth meter also exports
    ``export_wh_per_day`` of solar energy."""

    meters: int
    minutes: int
    t0: datetime = T0
    import_wh_per_min: float = 4.0
    import_peak_wh_per_min: float = 6.0
    export_wh_per_day: float = 15_000.0
    timezone: str = "Asia/Kolkata"

    @property
    def rows(self) -> int:
        return self.meters * self.minutes

    @property
    def end(self) -> datetime:
        return self.t0 + timedelta(minutes=self.minutes)

    @classmethod
    def for_rows(cls, rows: int, days: int, **kwargs: object) -> MeterFleet:
        """The fewest meters that give at least ``rows`` readings over ``days``."""
        return cls(meters=math.ceil(rows / (days * DAY)), minutes=days * DAY, **kwargs)


@dataclass(frozen=True)
class ChargerFleet:
    """``chargers`` two-connector charge points charging back-to-back sessions for ``minutes``
    from t0 (see bench.connector_plan in generate.sql), drivers drawn from ``tags`` id tags."""

    chargers: int
    minutes: int
    t0: datetime = T0
    tags: int = 500
    timezone: str = "Asia/Kolkata"

    @property
    def end(self) -> datetime:
        return self.t0 + timedelta(minutes=self.minutes)


def _run(conn: psycopg.Connection, name: str, params: dict | None = None) -> int:
    cur = conn.execute(GENERATE[name].text, params)
    return cur.rowcount


def _row(conn: psycopg.Connection, name: str, params: dict | None = None) -> tuple:
    with conn.cursor(row_factory=tuple_row) as cur:
        return cur.execute(GENERATE[name].text, params).fetchone()


def _chunks(url: str, name: str, chunks: list[dict], workers: int, progress: Log) -> int:
    """Run the named generator once per chunk of parameters, on ``workers`` connections at
    once; returns rows inserted. Chunks are small and handed out in order, so rows still land
    roughly in time order, as BRIN indexes expect."""
    pending = iter(chunks)
    lock = threading.Lock()
    done = [0]

    def work() -> None:
        with connect(url, autocommit=True) as conn:
            conn.execute(
                "SET jit = off"
            )  # compiling each chunk's expressions costs more than it saves
            while True:
                with lock:
                    params = next(pending, None)
                if params is None:
                    return
                n = _run(conn, name, params)
                with lock:
                    done[0] += n
                    progress(f"{done[0]:,}")

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work) for _ in range(workers)]:
            future.result()
    return done[0]


@contextmanager
def _indexes_built_after(url: str, relation: str, log: Log) -> Iterator[None]:
    """Drop ``relation``'s indexes and unique constraints for a bulk load, and re-create them
    exactly as they were (same names and definitions) when it is done: building an index once
    over sorted rows is several times faster than inserting into it row by row. The generators
    produce unique keys by construction, so nothing goes unchecked: re-adding the constraint
    checks them all."""
    with connect(url, autocommit=True) as conn, conn.cursor(row_factory=tuple_row) as cur:
        ddl = cur.execute(GENERATE["table_indexes"].text, {"relation": relation}).fetchall()
        for drop, _create in ddl:
            conn.execute(drop)
    yield
    with timed() as t, connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _drop, create in ddl:
            conn.execute(create)
    log(f"  {relation}: {len(ddl)} indexes built in {t['seconds']:.0f} s")


def install(conn: psycopg.Connection) -> None:
    """The generator functions (schema ``bench``); idempotent."""
    conn.execute(GENERATE["functions"].text)


def load_meters(
    url: str, fleet: MeterFleet, workers: int = 2, chunk_minutes: int = 60, log: Log = _quiet
) -> int:
    """Meters, registers and their readings, a statement per ``chunk_minutes``; returns
    readings inserted."""
    params = {
        "meters": fleet.meters,
        "timezone": fleet.timezone,
        "t0": fleet.t0,
        "import_wh_per_min": fleet.import_wh_per_min,
        "import_peak_wh_per_min": fleet.import_peak_wh_per_min,
        "export_wh_per_day": fleet.export_wh_per_day,
    }
    with connect(url, autocommit=True) as conn:
        install(conn)
        for name in ("drop_meter_plan", "meter_plan", "meters", "meter_registers"):
            _run(conn, name, params)
    chunks = [
        params | {"from_minute": lo, "to_minute": min(lo + chunk_minutes, fleet.minutes)}
        for lo in range(0, fleet.minutes, chunk_minutes)
    ]
    every = max(1, len(chunks) // 10)
    counter = iter(range(len(chunks)))

    def progress(total: str) -> None:
        if next(counter) % every == 0:
            log(f"  register readings: {total} of {fleet.rows:,}")

    with timed() as t, _indexes_built_after(url, "wattline.register_readings", log):
        total = _chunks(url, "register_readings", chunks, workers, progress)
    log(f"  {total:,} register readings in {t['seconds']:.0f} s, indexes included")
    return total


def chargers_for(url: str, meter_values: int, minutes: int) -> int:
    """The fewest charge points whose sessions over ``minutes`` give ``meter_values`` rows."""
    with connect(url, autocommit=True) as conn:
        install(conn)
        params = {"meter_values": meter_values, "minutes": minutes}
        max_chargers = 16
        while True:
            row = _row(conn, "charging_size", params | {"max_chargers": max_chargers})
            if row is not None:
                return row[0]
            max_chargers *= 4


def load_charging(
    url: str,
    fleet: ChargerFleet,
    workers: int = 2,
    chunk_transactions: int = 1000,
    log: Log = _quiet,
) -> tuple[int, int]:
    """Tariffs, drivers, charge points, connectors, transactions and their meter values;
    returns (transactions, meter values) inserted."""
    params = {
        "chargers": fleet.chargers,
        "minutes": fleet.minutes,
        "t0": fleet.t0,
        "tags": fleet.tags,
        "timezone": fleet.timezone,
    }
    with connect(url, autocommit=True) as conn:
        install(conn)
        for name in ("tariffs", "id_tags", "vehicles", "charge_points", "connectors"):
            _run(conn, name, params)
        transactions = _run(conn, "transactions", params)
        first, last = _row(conn, "transaction_ids")
    chunks = [
        {"first_id": lo, "last_id": min(lo + chunk_transactions - 1, last)}
        for lo in range(first or 0, (last or -1) + 1, chunk_transactions)
    ]
    every = max(1, len(chunks) // 10)
    counter = iter(range(len(chunks)))

    def progress(total: str) -> None:
        if next(counter) % every == 0:
            log(f"  meter values: {total} ({transactions:,} sessions)")

    with timed() as t, _indexes_built_after(url, "wattline.meter_values", log):
        values = _chunks(url, "meter_values", chunks, workers, progress)
    log(f"  {values:,} meter values in {t['seconds']:.0f} s, indexes included")
    with connect(url, autocommit=True) as conn:
        _run(conn, "connector_last_meter")
    return transactions, values


def finish(url: str, workers: int = 2, log: Log = _quiet) -> dict[str, float]:
    """Refresh every rollup as `wattline jobs` does (what changed since the last refresh; here
    ``workers`` rollups at a time), then VACUUM ANALYZE, so plans and visibility maps are those
    of a settled database. Returns seconds per step."""
    seconds = {}
    with connect(url, autocommit=True) as conn:
        names = rollups.rollup_names(conn)
    pending = iter(names)
    lock = threading.Lock()
    windows: dict[str, int] = {}

    def work() -> None:
        with connect(url, autocommit=True) as conn:
            while True:
                with lock:
                    name = next(pending, None)
                if name is None:
                    return
                windows.update(rollups.refresh(conn, [name]))

    with timed() as t, ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work) for _ in range(workers)]:
            future.result()
    seconds["refresh rollups"] = t["seconds"]
    log(f"  rollups refreshed in {t['seconds']:.1f} s: {windows}")
    with timed() as t, connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    seconds["vacuum analyze"] = t["seconds"]
    log(f"  vacuum analyze: {t['seconds']:.1f} s")
    return seconds
