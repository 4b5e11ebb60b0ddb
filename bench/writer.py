"""Writer throughput: meter values/s through ingest.writer (group commit, deltas from each
series' last reading, binary COPY straight into the table), against (a) PostgreSQL's own COPY
of the same rows from a file, the limit on this machine, and (b) one INSERT per row committed
per message, as the seed backends do. Run: .venv/bin/python -m bench.writer [--rows N]"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import PROFILE, connect, fresh_database, machine, table, timed
from ingest.writer import TARGETS, Batch, Writer

COLUMNS = TARGETS["meter_values"][1]
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def rows(n: int, chargers: int = 2000) -> list[tuple]:
    """MeterValues as chargers send them: per sample an energy register and a power value."""
    out = []
    received = T0 + timedelta(days=30)
    for i in range(n // 2):
        cp, k = f"CP-{i % chargers:05d}", i // chargers
        t = T0 + timedelta(seconds=60 * k)
        common = (t, received, cp, 1, None)
        out.append(
            (
                *common,
                "Energy.Active.Import.Register",
                "",
                "Outlet",
                "Sample.Periodic",
                "Wh",
                Decimal(100_000 + 120 * k),
                "ok",
            )
        )
        out.append(
            (
                *common,
                "Power.Active.Import",
                "",
                "Outlet",
                "Sample.Periodic",
                "W",
                Decimal(7200),
                "ok",
            )
        )
    return out


def copy_from_file(url: str, data: list[tuple]) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as f:
        csv.writer(f).writerows([("NULL" if v is None else v) for v in r] for r in data)
        path = f.name
    os.chmod(path, 0o644)  # the server reads it as its own OS user
    try:
        with connect(url, autocommit=True) as conn, timed() as t:
            conn.execute(
                f"COPY wattline.meter_values ({', '.join(COLUMNS)}) FROM '{path}'"  # noqa: S608
                " WITH (FORMAT csv, NULL 'NULL')"
            )
    finally:
        os.unlink(path)
    return t["seconds"]


def check_stored(url: str, data: list[tuple]) -> str:
    """Every row stored once, and the energy registers' deltas add up to last - first."""
    span: dict[str, tuple[Decimal, Decimal]] = {}
    for r in data:
        if r[5].endswith(".Register"):
            lo, hi = span.get(r[2], (r[10], r[10]))
            span[r[2]] = (min(lo, r[10]), max(hi, r[10]))
    expected = sum(hi - lo for lo, hi in span.values())
    with connect(url) as conn:
        n, energy = conn.execute(
            "SELECT count(*), coalesce(sum(delta), 0) FROM wattline.meter_values"
        ).fetchone()
    # Only the writer stores deltas; the baselines store the rows as they are.
    if n != len(data) or energy not in (0, expected):
        raise SystemExit(f"stored {n} rows and {energy} Wh; expected {len(data)} and {expected}")
    return f"{n:,} rows" + (f", {energy:,} Wh of deltas" if energy else "")


async def through_writer(url: str, data: list[tuple], per_message: int, producers: int) -> float:
    writer = Writer(url)
    await writer.start()
    messages = [data[i : i + per_message] for i in range(0, len(data), per_message)]
    queue: asyncio.Queue = asyncio.Queue()
    for m in messages:
        queue.put_nowait(m)

    async def producer() -> None:  # one charge point connection: a message, its reply, the next
        while not queue.empty():
            b = Batch(rows={"meter_values": queue.get_nowait()})
            await writer.write(b)

    with timed() as t:
        await asyncio.gather(*(producer() for _ in range(producers)))
    await writer.stop()
    print(
        f"writer: {writer.commits} commits, {writer.rows_direct:,} rows COPYed direct,"
        f" {writer.rows_merged:,} merged, {writer.series_read:,} series' last reading read"
    )
    return t["seconds"]


def insert_per_row(url: str, data: list[tuple], per_message: int) -> float:
    query = (
        f"INSERT INTO wattline.meter_values ({', '.join(COLUMNS)})"  # noqa: S608
        f" VALUES ({', '.join(['%s'] * len(COLUMNS))}) ON CONFLICT DO NOTHING"
    )
    with connect(url) as conn, timed() as t:
        for i in range(0, len(data), per_message):
            for row in data[i : i + per_message]:
                conn.execute(query, row)
            conn.commit()  # the reply to the charger waits for this
    return t["seconds"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=400_000)
    p.add_argument("--insert-rows", type=int, default=20_000, help="rows for the slow baseline")
    args = p.parse_args()
    data = rows(args.rows)
    url = fresh_database("wattline_bench_writer")
    results = []
    copy_s = copy_from_file(url, data)
    print("COPY:", check_stored(url, data))
    results.append(("COPY from a file (the limit)", len(data), copy_s))
    url = fresh_database("wattline_bench_writer")
    writer_s = asyncio.run(through_writer(url, data, per_message=10, producers=1000))
    print("writer:", check_stored(url, data))
    results.append(("wattline writer, 1000 connections", len(data), writer_s))
    url = fresh_database("wattline_bench_writer")
    slow = data[: args.insert_rows]
    insert_s = insert_per_row(url, slow, per_message=10)
    print("INSERT per row:", check_stored(url, slow))
    results.append(("INSERT per row, commit per message", len(slow), insert_s))
    limit = len(data) / copy_s
    printed = [
        (name, f"{n:,}", f"{s:.2f}", f"{n / s:,.0f}", f"{n / s / limit:.2f}")
        for name, n, s in results
    ]
    print(
        table(
            f"Writer: meter values/s into the {PROFILE} profile's meter_values ({machine()})",
            printed,
            ("method", "rows", "seconds", "rows/s", "× COPY"),
        )
    )
    w, i = len(data) / writer_s, len(slow) / insert_s
    print(
        f"\nwriter / COPY = {w / limit:.2f} (target ≥ 0.5); writer / INSERT-per-row = "
        f"{w / i:.1f} (target ≥ 20)"
    )


if __name__ == "__main__":
    main()
