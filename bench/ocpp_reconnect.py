"""OCPP handshakes under pressure: a fleet with passwords reconnecting at once, and a flood of
wrong passwords while other charge points send MeterValues.

`wattline ocpp` runs in a process of its own against a fresh database holding ``--chargers``
charge points with a password each (one hash shared by all, computed by the server's own
``hash_password``: hashing 2,000 distinct passwords here would only time the set-up). The
bench process is the fleet (hand-written WebSocket clients, ``bench.ocpp_loadgen``):

1. cold: every charge point connects with its password, ``--parallel`` handshakes at a time;
2. reconnect: all close, and all connect again at once (a network blip, a restarted proxy);
3. flood: ``--steady`` of them send MeterValues at ``--rate``/s for ``--seconds``, first alone,
   then while ``--flooders`` clients try wrong passwords as fast as they are answered.

Reported: handshake p50/p99/max (connect to HTTP 101) and the wall time for the fleet, and the
MeterValues reply p99 without and with the flood, with the flood's answers by status.
``--server-root`` runs the server from another checkout (a worktree of main, to measure before).

Run: .venv/bin/python -m bench.ocpp_reconnect [--chargers 2000] [--server-root DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg

from bench.common import fresh_database, machine, table
from bench.ocpp_load import central_system, cpu_s, free_port
from bench.ocpp_loadgen import ChargePoint, Stats, _run_schedule, raise_open_file_limit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-pass-0123456789"
_HANDSHAKE = (
    "GET /ocpp/{identity} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n"
    "Authorization: Basic {token}\r\n\r\n"
)


def _token(identity: str, password: str) -> str:
    return base64.b64encode(f"{identity}:{password}".encode()).decode()


def _server_hash(server_root: Path) -> str:
    code = f"from ingest.ocpp.auth import hash_password; print(hash_password({PASSWORD!r}))"
    env = {**os.environ, "PYTHONPATH": str(server_root)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=server_root,  # the working directory comes first on sys.path
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _register(url: str, identities: list[str], password_hash: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.charge_points (id, password_hash, registration_status)"
            " SELECT unnest(%s::text[]), %s, 'Accepted'",
            [identities, password_hash],
        )


async def _handshake(port: int, identity: str, password: str, stats: Stats) -> ChargePoint:
    """A connected charge point (raises ConnectionError with the status line if refused)."""
    loop = asyncio.get_running_loop()
    cp = ChargePoint(identity, stats, 60.0)
    await loop.create_connection(lambda: cp, "127.0.0.1", port)
    request = _HANDSHAKE.format(identity=identity, port=port, token=_token(identity, password))
    cp.transport.write(request.encode())
    try:
        await asyncio.wait_for(cp.opened, 120)
    except BaseException:
        cp.transport.close()
        raise
    return cp


async def _connect_all(port: int, identities: list[str], give_up_s: float) -> tuple[list, dict]:
    """Every charge point connects at once; one refused (503, a handshake time-out) tries again
    after 1-5 s, as chargers do, until ``give_up_s``. Latency is per successful attempt."""
    stats, rng = Stats(), random.Random(7)
    latencies, errors, chargers = [], Counter(), []
    started = time.perf_counter()
    deadline = started + give_up_s

    async def one(identity: str) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                chargers.append(await _handshake(port, identity, PASSWORD, stats))
                latencies.append((time.perf_counter() - t0) * 1000)
                return
            except (OSError, ConnectionError, TimeoutError) as exc:
                errors[str(exc).removeprefix(f"{identity}: ")[:40]] += 1
            await asyncio.sleep(rng.uniform(1, 5))

    await asyncio.gather(*(one(i) for i in identities))
    wall = time.perf_counter() - started
    return chargers, {"wall_s": wall, "errors": dict(errors), **_percentiles(latencies)}


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"n": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": ordered[-1]}


def _close(chargers: list[ChargePoint]) -> None:
    for cp in chargers:
        cp.finished = True
        cp.transport.close()


async def _meter_values(chargers: list[ChargePoint], rate: float, seconds: float) -> dict:
    stats = Stats()
    stats.wall0, stats.perf0 = time.time(), time.perf_counter()
    for cp in chargers:
        cp.stats, cp.period_h = stats, len(chargers) / rate / 3600
    await _run_schedule(chargers, rate, seconds, stats, drain_s=10.0)
    return {"acknowledged": stats.acknowledged, **_percentiles(stats.latencies_ms)}


async def _flood(port: int, targets: list[str], flooders: int, seconds: float) -> Counter:
    """Wrong passwords for registered identities, each flooder one attempt after another."""
    answers: Counter = Counter()
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)

    async def flooder(k: int) -> None:
        n = k
        while not stop.is_set():
            identity = targets[n % len(targets)]
            n += flooders
            try:
                cp = await _handshake(port, identity, "wrong-" + str(n), Stats())
                answers["101 (!)"] += 1
                cp.transport.close()
            except ConnectionError as exc:
                answers[" ".join(str(exc).split()[1:2]) or "?"] += 1
            except (OSError, TimeoutError):
                answers["error"] += 1

    await asyncio.gather(*(flooder(k) for k in range(flooders)))
    return answers


async def _scenario(port: int, identities: list[str], args: argparse.Namespace, pid: int):
    results = {}
    cpu0 = cpu_s(pid)
    chargers, results["cold"] = await _connect_all(port, identities, args.give_up)
    results["cold"]["server_cpu_s"] = cpu_s(pid) - cpu0
    _close(chargers)
    await asyncio.sleep(3)  # the server sees every close before the fleet comes back
    cpu0 = cpu_s(pid)
    chargers, results["reconnect"] = await _connect_all(port, identities, args.give_up)
    results["reconnect"]["server_cpu_s"] = cpu_s(pid) - cpu0
    steady = sorted(chargers, key=lambda c: c.identity)[: args.steady]
    _close([c for c in chargers if c not in steady])
    await asyncio.sleep(5)  # the closes settle (the server collects after a burst of them)
    results["quiet"] = await _meter_values(steady, args.rate, args.seconds)
    # The flood runs in a process of its own: on this loop it would delay the replies measured.
    command = [sys.executable, "-m", "bench.ocpp_reconnect", "--flood-port", str(port)]
    command += ["--chargers", str(args.chargers), "--steady", str(args.steady)]
    command += ["--flooders", str(args.flooders), "--seconds", str(args.seconds)]
    flood = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE, cwd=ROOT)
    results["flood"] = await _meter_values(steady, args.rate, args.seconds)
    results["flood"]["answers"] = json.loads((await flood.communicate())[0])
    _close(steady)
    return results


def _identities(count: int) -> list[str]:
    return [f"RECON-{i:06d}" for i in range(count)]


def run(args: argparse.Namespace) -> dict:
    raise_open_file_limit(args.chargers * 2 + 512)
    server_root = Path(args.server_root).resolve()
    url = fresh_database("wattline_bench_reconnect")
    identities = _identities(args.chargers)
    _register(url, identities, _server_hash(server_root))
    port = free_port()
    with (
        tempfile.TemporaryDirectory() as tmp,
        central_system(url, port, Path(tmp), server_root) as srv,
    ):
        return asyncio.run(_scenario(port, identities, args, srv.pid))


def report(results: dict, args: argparse.Namespace) -> str:
    def ms(r: dict, key: str) -> str:
        return f"{r[key]:.0f}"

    rows = []
    for phase in ("cold", "reconnect"):
        r = results[phase]
        errors = sum(r["errors"].values())
        rows.append(
            (
                f"{phase}: {args.chargers} chargers with a password, all at once",
                f"{r['n']} in; {errors} attempts refused",
                ms(r, "p50"),
                ms(r, "p99"),
                ms(r, "max"),
                f"{r['n']}/{args.chargers} in after {r['wall_s']:.1f} s;"
                f" server {r['server_cpu_s']:.1f} s CPU"
                + "".join(f"; {n}× {e}" for e, n in sorted(r["errors"].items())),
            )
        )
    for phase in ("quiet", "flood"):
        r = results[phase]
        extra = ""
        if phase == "flood":
            answers = results["flood"]["answers"]
            extra = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))
        rows.append(
            (
                f"MeterValues from {args.steady} chargers at {args.rate:g}/s, {phase}",
                f"{r['acknowledged']} acknowledged",
                ms(r, "p50"),
                ms(r, "p99"),
                ms(r, "max"),
                extra,
            )
        )
    title = f"OCPP reconnect and password flood (server: {args.server_root}; {machine()})"
    return table(title, rows, ("what", "count", "p50 ms", "p99 ms", "max ms", "notes"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--chargers", type=int, default=2000)
    p.add_argument("--give-up", type=float, default=400, help="seconds a charger keeps trying")
    p.add_argument("--steady", type=int, default=200, help="chargers sending MeterValues")
    p.add_argument("--rate", type=float, default=200.0, help="their MeterValues/s")
    p.add_argument("--seconds", type=float, default=20.0, help="each MeterValues phase")
    p.add_argument("--flooders", type=int, default=50, help="wrong-password clients at once")
    p.add_argument("--server-root", default=str(ROOT), help="checkout whose server to run")
    p.add_argument("--flood-port", type=int, help=argparse.SUPPRESS)  # the flood's own process
    args = p.parse_args()
    if args.flood_port:
        targets = _identities(args.chargers)[args.steady :]  # registered, not connected now
        answers = asyncio.run(_flood(args.flood_port, targets, args.flooders, args.seconds))
        print(json.dumps(answers))
        return
    print(report(run(args), args))


if __name__ == "__main__":
    main()
