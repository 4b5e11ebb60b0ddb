"""The database away for a long while under full OCPP load, and the way back (issue 12).

`wattline ocpp` runs against a PostgreSQL cluster of the benchmark's own (bench.pg_cluster), so
the database can be stopped (``pg_ctl stop -m fast``) without touching the shared server. The
lean charge points of ``bench.ocpp_loadgen`` send MeterValues on an open-loop schedule the
whole time: before the outage, through it (the central system confirms from its fsynced spool),
and after the database returns, while the spool is replayed beside the live traffic.

Reported beside the targets: MeterValues acknowledged, stored, lost (acknowledged and not
stored) and doubled (natural keys, and frames kept twice in ocpp_messages); the spool's size at
the return; how long the replay took from the database's return until the spool was gone; and
the live reply latency (from each message's due time to its CALLRESULT) before, during the
outage, during the replay and after it.

Targets: a 10-minute outage at 2,000 MeterValues/s is replayed within 2 minutes of the
database's return, while live p99 stays under 500 ms.

Run: .venv/bin/python -m bench.outage_replay [--chargers 2000] [--rate 2000] [--outage-s 600]
     quick: --chargers 500 --rate 500 --outage-s 20 --after-s 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.common import machine, table
from bench.ocpp_load import _percentile, central_system, cpu_s, free_port, machine_busy_s
from bench.ocpp_loadgen import (
    VALUES_PER_MESSAGE,
    Stats,
    _open,
    _run_schedule,
    raise_open_file_limit,
)
from bench.pg_cluster import Cluster

TARGET_REPLAY_S = 120
TARGET_P99_MS = 500
PREFIX = "OUTAGE"
# A 10-minute outage at 2,000/s spools ~1.5 GB (frames included), over the default cap.
SPOOL_MAX_BYTES = str(8 * 2**30)


@dataclass
class Mark:
    """Where the run stood at a moment: replies so far (their latencies are in reply order) and
    the CPU seconds spent so far by the central system, PostgreSQL, the load generator and the
    whole machine."""

    at: float
    replies: int
    acknowledged: int
    cpu: dict


SERVER_PID: list[int] = []  # the central system's, once it runs


def _postgres_cpu_s() -> float:
    """CPU seconds of every PostgreSQL process now alive (the benchmark's cluster does the work;
    the shared servers idle). A backend that exits takes its seconds along, so only compare
    marks taken while the cluster stays up."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                total += cpu_s(int(comm.parent.name))
        except OSError:
            continue
    return total


def _cpu() -> dict:
    own = os.times()
    return {
        "server": sum(cpu_s(pid) for pid in SERVER_PID),
        "postgres": _postgres_cpu_s(),
        "loadgen": own.user + own.system,
        "machine": machine_busy_s(),
    }


def _mark(stats: Stats) -> Mark:
    return Mark(time.perf_counter(), len(stats.latencies_ms), stats.acknowledged, _cpu())


def _spool_bytes(spool: Path) -> int:
    return spool.stat().st_size if spool.exists() else 0


async def _outage(cluster: Cluster, spool: Path, stats: Stats, args, marks: dict) -> None:
    """Stop the database after the warm-up, start it after the outage, and time the replay:
    from the database's return until the spool is gone."""
    await asyncio.sleep(args.warmup_s)
    marks["outage"] = _mark(stats)
    await asyncio.to_thread(cluster.stop, "fast")
    await asyncio.sleep(args.outage_s)
    marks["spool_bytes"] = _spool_bytes(spool)
    await asyncio.to_thread(cluster.start)
    marks["back"] = _mark(stats)
    deadline = time.perf_counter() + args.after_s + args.replay_wait_s
    while _spool_bytes(spool) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    marks["spool_left"] = _spool_bytes(spool)
    if not marks["spool_left"]:
        marks["replayed"] = _mark(stats)


async def _drive(port: int, cluster: Cluster, spool: Path, args) -> tuple[Stats, dict]:
    stats = Stats()
    stats.wall0, stats.perf0 = time.time(), time.perf_counter()
    identities = [f"{PREFIX}-{i:06d}" for i in range(args.chargers)]
    chargers = await _open("127.0.0.1", port, identities, stats, args.chargers / args.rate, 100)
    if len(chargers) != args.chargers:
        raise RuntimeError(f"only {len(chargers)} of {args.chargers} booted: {stats.error_samples}")
    marks: dict = {"start": _mark(stats)}
    seconds = args.warmup_s + args.outage_s + args.after_s
    scenario = asyncio.create_task(_outage(cluster, spool, stats, args, marks))
    await _run_schedule(chargers, args.rate, seconds, stats, drain_s=30)
    marks["end"] = _mark(stats)
    await scenario  # a replay still running once the load ends is waited for, a while
    for cp in chargers:
        cp.finished = True
        cp.transport.close()
    return stats, marks


def _count(url: str) -> dict:
    with psycopg.connect(url, autocommit=True) as conn:
        stored, rows, doubled = conn.execute(
            """
            SELECT count(DISTINCT (charge_point_id, time)), count(*),
                   count(*) - count(DISTINCT (charge_point_id, connector_id, measurand, phase,
                                              location, time))
              FROM wattline.meter_values WHERE charge_point_id LIKE %s
            """,
            [PREFIX + "-%"],
        ).fetchone()
        frames, frames_doubled = conn.execute(
            """
            SELECT count(*), count(*) - count(DISTINCT (charge_point_id, message_id))
              FROM wattline.ocpp_messages
             WHERE direction = 'in' AND action = 'MeterValues' AND charge_point_id LIKE %s
            """,
            [PREFIX + "-%"],
        ).fetchone()
    return {"stored": stored, "rows": rows, "doubled": doubled, "frames": frames,
            "frames_doubled": frames_doubled}  # fmt: skip


def run(args) -> dict:
    raise_open_file_limit(args.chargers + 1024)
    os.environ.setdefault("WATTLINE_SPOOL_MAX_BYTES", SPOOL_MAX_BYTES)
    cluster = Cluster()
    workdir = Path(tempfile.mkdtemp(prefix="wattline-outage-"))
    try:
        cluster.init()
        cluster.start()
        url = cluster.database("wattline_bench_outage")
        port = free_port()
        with central_system(url, port, workdir) as server:
            SERVER_PID[:] = [server.pid]
            spool = workdir / "spool.jsonl"
            load_before = os.getloadavg()[0]
            stats, marks = asyncio.run(_drive(port, cluster, spool, args))
            marks["load"] = (load_before, os.getloadavg()[0])
        counts = _count(url)
    finally:
        cluster.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"stats": stats, "marks": marks, **counts}


def _phase(stats: Stats, first: Mark | None, last: Mark | None) -> tuple[float, float, int]:
    if first is None or last is None:
        return float("nan"), float("nan"), 0
    latencies = sorted(stats.latencies_ms[first.replies : last.replies])
    return _percentile(latencies, 0.5), _percentile(latencies, 0.99), len(latencies)


def _budget(marks: dict, spooled: int, args) -> list[tuple]:
    """CPU during the replay (database back -> spool gone), per document handled (the spooled
    ones plus the live ones answered meanwhile), and what the target would take at that cost:
    a 10-minute outage at the offered rate is rate x 600 spooled documents, replayed in 120 s
    beside rate x 120 live ones."""
    back, done = marks["back"], marks.get("replayed")
    if done is None:
        return [("CPU budget", "", "replay unfinished: not measured", "")]
    wall = done.at - back.at
    live = done.acknowledged - back.acknowledged
    docs = spooled + live
    used = {k: done.cpu[k] - back.cpu[k] for k in back.cpu}
    per_doc_ms = {k: v / docs * 1000 for k, v in used.items()}
    target_docs = args.rate * 600 + args.rate * TARGET_REPLAY_S
    cores = target_docs * used["machine"] / docs / TARGET_REPLAY_S
    return [
        ("CPU during the replay, core-seconds (wall s)", "",
         f"server {used['server']:.1f}, PostgreSQL {used['postgres']:.1f}, load generator "
         f"{used['loadgen']:.1f}, machine {used['machine']:.1f} ({wall:.1f} s wall)", ""),
        ("CPU per document handled during the replay", "",
         f"server {per_doc_ms['server']:.3f} ms, PostgreSQL {per_doc_ms['postgres']:.3f} ms, "
         f"load generator {per_doc_ms['loadgen']:.3f} ms, machine {per_doc_ms['machine']:.3f} ms "
         f"({spooled:,} spooled + {live:,} live)", ""),
        ("cores the target needs at this cost", f"≤ {os.cpu_count()}",
         f"{cores:.1f} = ({args.rate:,.0f}/s × 600 s + {args.rate:,.0f}/s × {TARGET_REPLAY_S} s)"
         f" × {per_doc_ms['machine']:.3f} ms / {TARGET_REPLAY_S} s",
         "yes" if cores <= (os.cpu_count() or 1) else "NO"),
    ]  # fmt: skip


def report(r: dict, args) -> str:
    stats, marks = r["stats"], r["marks"]
    offered = int(args.rate * (args.warmup_s + args.outage_s + args.after_s))
    acknowledged = stats.acknowledged
    errors = stats.call_errors + stats.closed_early + stats.unanswered
    lost = max(0, acknowledged - r["stored"])
    replayed = marks.get("replayed")
    replay_s = replayed.at - marks["back"].at if replayed else float("inf")
    during = marks["back"].acknowledged - marks["outage"].acknowledged

    def ok(good: bool) -> str:
        return "yes" if good else "NO"

    def ms(phase: tuple[float, float, int]) -> str:
        p50, p99, n = phase
        return f"p50 {p50:.0f} ms, p99 {p99:.0f} ms ({n:,} replies)"

    before = _phase(stats, marks["start"], marks["outage"])
    outage = _phase(stats, marks["outage"], marks["back"])
    replay = _phase(stats, marks["back"], replayed or marks["end"])
    after = _phase(stats, replayed, marks["end"])
    worst_p99 = max(outage[1], replay[1])
    rows = [
        ("database away (pg_ctl stop -m fast ... start)", f"{args.outage_s:,.0f} s", "", ""),
        ("MeterValues/s offered", f"{args.rate:,.0f}", f"{offered:,} in all", ""),
        (
            "acknowledged / offered",
            f"{offered:,}",
            f"{acknowledged:,} ({during:,} during the outage)",
            ok(acknowledged == offered),
        ),
        ("CALLERRORs, connections lost, unanswered", "0", f"{errors:,}", ok(errors == 0)),
        ("stored (distinct MeterValues)", f"{acknowledged:,}", f"{r['stored']:,}", ""),
        (
            "lost (acknowledged, not stored)",
            "0",
            # Not lost yet while the spool holds them, but the run's directory is deleted.
            f"{lost:,}" + (" (replay unfinished: in the spool)" if marks["spool_left"] else ""),
            ok(lost == 0),
        ),
        ("doubled (meter values per natural key)", "0", f"{r['doubled']:,}", ok(not r["doubled"])),
        (
            "MeterValues frames kept twice in ocpp_messages",
            "0",
            f"{r['frames_doubled']:,} (of {r['frames']:,})",
            ok(not r["frames_doubled"]),
        ),
        (
            f"meter_values rows = stored × {VALUES_PER_MESSAGE}",
            f"{r['stored'] * VALUES_PER_MESSAGE:,}",
            f"{r['rows']:,}",
            ok(r["rows"] == r["stored"] * VALUES_PER_MESSAGE),
        ),
        ("spool at the database's return", "", f"{marks['spool_bytes'] / 2**20:,.1f} MiB", ""),
        ("spool left when the run ended", "0", f"{marks['spool_left'] / 2**20:,.1f} MiB", ""),
        (
            "replay: database back -> spool gone",
            f"≤ {TARGET_REPLAY_S} s",
            f"{replay_s:.1f} s ({marks['spool_bytes'] / 2**20 / replay_s:.1f} MiB/s)"
            if replayed
            else "not finished",
            ok(replay_s <= TARGET_REPLAY_S),
        ),
        ("live latency before the outage", "", ms(before), ""),
        ("live latency during the outage (spool)", f"p99 < {TARGET_P99_MS} ms", ms(outage),
         ok(outage[1] < TARGET_P99_MS)),
        ("live latency during the replay", f"p99 < {TARGET_P99_MS} ms", ms(replay),
         ok(replay[1] < TARGET_P99_MS)),
        ("live latency after the replay", "", ms(after), ""),
        ("live p99, outage and replay together", f"< {TARGET_P99_MS} ms", f"{worst_p99:.0f} ms",
         ok(worst_p99 < TARGET_P99_MS)),
        ("reply latency max", "", f"{max(stats.latencies_ms, default=0):.0f} ms", ""),
        *_budget(marks, during, args),
        ("machine load average (1 min), start / end", "",
         "{:.1f} / {:.1f} on {} cores".format(*marks["load"], os.cpu_count()), ""),
    ]  # fmt: skip
    title = (
        f"Database outage and replay, {args.chargers:,} charge points, {args.rate:,.0f} "
        f"MeterValues/s, {args.outage_s:.0f} s away ({machine()})"
    )
    out = table(title, rows, ("measure", "target", "measured", "met"))
    if stats.error_samples:
        out += "\n\nerrors, first few:\n" + "\n".join(f"  {e}" for e in stats.error_samples)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--chargers", type=int, default=2000)
    p.add_argument("--rate", type=float, default=2000, help="MeterValues/s, all chargers together")
    p.add_argument("--outage-s", type=float, default=600, help="how long the database is away")
    p.add_argument("--warmup-s", type=float, default=10, help="load before the outage")
    p.add_argument("--after-s", type=float, default=180, help="load after the database returns")
    p.add_argument(
        "--replay-wait-s", type=float, default=120, help="wait for a replay still running then"
    )
    args = p.parse_args()
    print(report(run(args), args))


if __name__ == "__main__":
    main()
