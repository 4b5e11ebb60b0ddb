"""What `wattline status` adds in the timescale profile: chunks and compression per hypertable,
and TimescaleDB's policy jobs with their last run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import psycopg

from sql import queries


def storage_lines(conn: psycopg.Connection) -> Iterator[str]:
    rows = conn.execute(queries.get("hypertable_storage"), {}).fetchall()
    width = max((len(r["name"]) for r in rows), default=0)
    yield "hypertables (chunks, compressed, compression ratio):"
    for r in rows:
        ratio = (
            f"{r['before_bytes'] / r['after_bytes']:.1f}x ({_size(r['before_bytes'])} ->"
            f" {_size(r['after_bytes'])})"
            if r["after_bytes"]
            else "-"
        )
        yield (
            f"  {r['name']:<{width}}  {r['chunks']:>6} chunks  {r['compressed_chunks']:>6}"
            f" compressed  {ratio}"
        )


def job_lines(conn: psycopg.Connection) -> Iterator[str]:
    rows = conn.execute(queries.get("policy_jobs"), {}).fetchall()
    width = max((len(r["relation"]) for r in rows), default=0)
    yield "policy jobs (every, last run, next start):"
    for r in rows:
        last = r["last_run_status"] or "never run"
        if r["last_run_started_at"]:
            last += f" at {r['last_run_started_at']:%Y-%m-%d %H:%M:%S}"
        next_start = "unscheduled"
        if r["scheduled"]:
            # NULL where the job's stats are hidden from a role that is not a superuser
            next_start = f"{r['next_start']:%Y-%m-%d %H:%M:%S}" if r["next_start"] else "unknown"
        failures = (
            f", {r['total_failures']} of {r['total_runs']} runs failed"
            if r["total_failures"]
            else ""
        )
        yield (
            f"  {r['job_id']:>5} {r['policy']:<36} {r['relation']:<{width}}"
            f"  every {_every(r['schedule_interval'])}  {last}{failures}  next {next_start}"
        )


def _every(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
