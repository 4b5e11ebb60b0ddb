"""API latency: the settlement estimator and the session details over HTTP, each at a steady
``--rate`` requests a second for ``--seconds``, against a running `wattline api` with
``--workers`` uvicorn processes (WATTLINE_API_WORKERS in deploy: one per core), over the
benchmark's data set (bench/data.py: meters reading every minute and charge points charging all
day, ``--raw-rows`` rows in each raw table), generated to end now so that the estimator has a
current period to read.

Requests go out on a fixed schedule (open loop): a slow answer does not delay the next request,
and latency counts from when a request was due, so queueing shows in the figures instead of
being hidden by a client that waits. Each request picks a random meter (estimator) or session
(details). Every answer must be a 200; any other is counted and printed as a FAILURE.
Target: p95 < 50 ms for each at 200 requests a second.

Run: .venv/bin/python -m bench.api [--raw-rows 2000000] [--rate 200] [--seconds 60]
                                   [--workers 2]"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from psycopg import sql as pgsql
from psycopg.rows import tuple_row

from api import tokens
from bench import data
from bench.common import ADMIN_URL, PROFILE, connect, fresh_database, machine, table

DATABASE = "wattline_bench_api"
P95_TARGET_MS = 50
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Load:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    late_starts: int = 0  # requests the client itself sent over 5 ms after they were due
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def load(url: str, raw_rows: int, days: int, log=print) -> None:
    """The benchmark data set, ending at the current minute."""
    minutes = days * data.DAY
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    meters = data.MeterFleet.for_rows(raw_rows, days, t0=t0)
    chargers = data.chargers_for(url, raw_rows, minutes)
    log(f"loading {meters.meters} meters and {chargers} charge points × {days} days, to now")
    data.load_meters(url, meters, log=log)
    data.load_charging(url, data.ChargerFleet(chargers=chargers, minutes=minutes, t0=t0), log=log)
    data.finish(url, log=log)


def targets(url: str) -> tuple[list[str], list[int]]:
    """Meter serials and transaction ids to ask for."""
    with connect(url, row_factory=tuple_row) as conn:
        serials = [r[0] for r in conn.execute("SELECT serial FROM wattline.meter_registry")]
        ids = [r[0] for r in conn.execute("SELECT id FROM wattline.transactions")]
    return serials, ids


def serve(url: str, secret: str, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """`wattline api` on a free port, as deploy runs it; returns it and its base URL."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLINE_")}
    env |= {"DATABASE_URL": url, "WATTLINE_API_SECRET": secret}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wattline.cli",
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("wattline api did not become ready in 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


class Connection:
    """One keep-alive HTTP/1.1 connection, as lean as a client can be: the load generator shares
    the machine with the server, and every millisecond it spends is one the server does not get."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status


async def drive(base: str, token: str, paths: list[str], rate: float, seconds: float) -> Load:
    """``rate`` requests a second for ``seconds``, each to a random one of ``paths``."""
    out = Load()
    rng = random.Random(16)
    host, port = base.removeprefix("http://").split(":")
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        for path in paths
    ]
    idle: list[Connection] = []
    opened: list[Connection] = []

    async def connect() -> Connection:
        conn = Connection(*await asyncio.open_connection(host, int(port)))
        opened.append(conn)
        return conn

    async def one(request: bytes, due: float) -> None:
        if time.perf_counter() - due > 0.005:
            out.late_starts += 1
        reused = idle.pop() if idle else None
        try:
            try:
                conn = reused or await connect()
                status = await conn.get(request)
            except (OSError, asyncio.IncompleteReadError):
                if reused is None:
                    raise
                # The server closed a connection that sat idle past its keep-alive time: a
                # client sends again on a new one, and so does this one (the time counts).
                conn = await connect()
                status = await conn.get(request)
            idle.append(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            status = type(exc).__name__
        out.latencies_ms.append((time.perf_counter() - due) * 1000)
        out.statuses[status] += 1

    # Warm up: connections, plans, caches.
    await asyncio.gather(*(one(rng.choice(requests), time.perf_counter()) for _ in range(20)))
    out.latencies_ms.clear()
    out.statuses.clear()
    out.late_starts = 0
    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(rng.choice(requests), due)))
    await asyncio.gather(*tasks)
    out.seconds = time.perf_counter() - start
    for conn in opened:
        conn.writer.close()
    return out


def row(name: str, got: Load, rate: float) -> tuple:
    lat = got.latencies_ms
    return (
        name,
        f"{rate:g}",
        len(lat),
        f"{len(lat) / got.seconds:.0f}",
        f"{statistics.median(lat):.1f}",
        f"{p(lat, 0.95):.1f}",
        f"{p(lat, 0.99):.1f}",
        f"{max(lat):.1f}",
        got.failures,
        "yes" if p(lat, 0.95) < P95_TARGET_MS and not got.failures else "NO",
    )


HEADER = (
    "endpoint", "rate/s", "requests", "achieved/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
    "non-200", "p95 < 50 ms",
)  # fmt: skip


def run(url: str, rate: float, seconds: float, workers: int = 1) -> tuple[list[tuple], list[Load]]:
    secret = secrets.token_urlsafe(48)
    token = tokens.issue(
        secret, "bench", ["read"], timedelta(hours=2), audience="wattline", issuer="wattline"
    )
    serials, ids = targets(url)
    plans = {
        "GET /settlement/estimator?meter=": [
            f"/api/v1/settlement/estimator?meter={s}" for s in serials
        ],
        "GET /sessions/{id}": [f"/api/v1/sessions/{i}" for i in ids],
    }
    proc, base = serve(url, secret, workers)
    rows, loads = [], []
    try:
        for name, paths in plans.items():
            got = asyncio.run(drive(base, token, paths, rate, seconds))
            rows.append(row(name, got, rate))
            loads.append(got)
            if got.failures:
                print(f"!!! FAILURE: {name}: answers by status {dict(got.statuses)}")
            if got.late_starts:
                print(f"note: {name}: the client sent {got.late_starts} requests > 5 ms late")
    finally:
        stop(proc)
    return rows, loads


def main() -> None:
    p_ = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p_.add_argument("--raw-rows", type=int, default=2_000_000, help="rows in each raw table")
    p_.add_argument("--days", type=int, default=30)
    p_.add_argument("--rate", type=float, default=200, help="requests a second")
    p_.add_argument("--seconds", type=float, default=60)
    p_.add_argument("--workers", type=int, default=2, help="API processes (one per core)")
    p_.add_argument("--keep", action="store_true", help=f"keep the {DATABASE} database")
    args = p_.parse_args()
    url = fresh_database(DATABASE)
    load(url, args.raw_rows, args.days)
    with connect(url, row_factory=tuple_row) as conn:
        counts = {
            t: conn.execute(
                pgsql.SQL("SELECT count(*) FROM wattline.{}").format(pgsql.Identifier(t))
            ).fetchone()[0]
            for t in ("register_readings", "meter_values", "transactions", "meter_registry")
        }
    rows, loads = run(url, args.rate, args.seconds, args.workers)
    print()
    print(
        table(
            f"API latency, {PROFILE} profile, {args.workers} uvicorn worker(s) ({machine()}); "
            f"{counts['register_readings']:,} register readings of {counts['meter_registry']:,} "
            f"meters, {counts['meter_values']:,} meter values of {counts['transactions']:,} "
            f"sessions; latency from when each request was due",
            rows,
            HEADER,
        )
    )
    met = all(r[-1] == "yes" for r in rows)
    print(f"\ntarget: p95 < {P95_TARGET_MS} ms at {args.rate:g}/s — {'met' if met else 'NOT met'}")
    if not args.keep:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(DATABASE))
            )
    raise SystemExit(0 if all(not g.failures for g in loads) else 1)


if __name__ == "__main__":
    main()
