"""Every benchmark, one after the other, each in a process of its own so none inherits another's
memory or warm caches: `.venv/bin/python -m bench [--quick] [--only NAME ...] [--profiles P ...]`.
Writer, dashboard, storage and api run on both storage profiles by default (postgres on the local
PostgreSQL, timescale on the TimescaleDB cluster scripts/setup runs); the others on postgres.

Each prints its own side-by-side table; this collects them into bench/results.md with the
machine they ran on, which is what the README's benchmark section is copied from; with --only,
the other benchmarks' latest sections stay. --quick runs small sizes, to check the benchmarks
work; its figures are not the ones to publish."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import machine

# name -> (module, arguments of a quick run); the full run takes each module's defaults
BENCHMARKS: dict[str, tuple[str, str]] = {
    "writer": ("bench.writer", "--rows 40000 --insert-rows 4000"),
    "ocpp": ("bench.ocpp_load", "--chargers 200 --rate 200 --seconds 10"),
    "reconnect": (
        "bench.ocpp_reconnect",
        "--chargers 100 --steady 20 --rate 20 --seconds 3 --flooders 5",
    ),
    "mqtt": ("bench.mqtt_load", "--meters 100 --rate 1000 --seconds 15"),
    "analytics": (
        "bench.analytics",
        "--meter-values 200000 --meters 50 --naive-sessions 100 --naive-meters 5",
    ),
    "dashboard": ("bench.dashboard_queries", "--raw-rows 500000"),
    "outage": (
        "bench.outage_replay",
        "--chargers 200 --rate 200 --outage-s 20 --warmup-s 5 --after-s 40 --replay-wait-s 30",
    ),
    "storage": ("bench.storage", "--chargers 200"),
    "api": ("bench.api", "--raw-rows 200000 --days 7 --rate 50 --seconds 5"),
}
PROFILES = ("postgres", "timescale")
BOTH_PROFILES = {"writer", "dashboard", "storage", "api"}
RESULTS = Path(__file__).with_name("results.md")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes: a check, not a result")
    p.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run just these")
    p.add_argument("--profiles", nargs="+", choices=PROFILES, help="storage profiles to run on")
    p.add_argument(
        "--sizes",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="run NAME with these arguments instead of its defaults, e.g. "
        "'dashboard=--raw-rows 2000000' (the section says so)",
    )
    args = p.parse_args()
    sizes = dict(s.split("=", 1) for s in args.sizes)
    runs = [
        (name, profile)
        for name in args.only or list(BENCHMARKS)
        for profile in args.profiles or (PROFILES if name in BOTH_PROFILES else ("postgres",))
    ]
    run_on = f"{datetime.now(UTC):%Y-%m-%d}, {machine()}, {_postgres_version()}"
    # A run of some benchmarks keeps the others' latest sections (a quick run keeps nothing).
    earlier = {} if args.quick else _sections(RESULTS)
    sections = [
        f"# Benchmark results{' (quick run: not for publishing)' if args.quick else ''}",
        run_on if not earlier or not args.only else "Each section says when and where it ran.",
    ]
    done: dict[str, str] = {}
    failed = []
    for name, profile in runs:
        module, quick = BENCHMARKS[name]
        chosen = quick if args.quick else sizes.get(name, "")
        command = [sys.executable, "-m", module, *chosen.split()]
        key = f"{name}/{profile}"
        print(f"\n== {key}: {' '.join(command[1:])}", flush=True)
        start = time.monotonic()
        env = os.environ | {"WATTLINE_BENCH_PROFILE": profile}
        run = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        print(run.stdout, end="", flush=True)
        took = time.monotonic() - start
        status = "" if run.returncode == 0 else f" — FAILED (exit {run.returncode})"
        if run.returncode:
            failed.append(key)
        where = run_on + (
            f", TimescaleDB {_timescaledb_version()}" if profile != "postgres" else ""
        )
        if chosen and not args.quick:
            where += f"; `{chosen}` (smaller than its default)"
        done[key] = f"## {key} ({took:.0f} s){status}\n\n{where}\n\n```\n{run.stdout.strip()}\n```"
    for key in (f"{n}/{p}" for n in BENCHMARKS for p in PROFILES):  # the usual order
        if key in done or key in earlier:
            sections.append(done.get(key) or earlier[key])
    RESULTS.write_text("\n\n".join(sections) + "\n")
    print(f"\nwritten to {RESULTS}")
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


def _sections(path: Path) -> dict[str, str]:
    """The benchmark sections of an earlier results file, by name, each with the line saying
    when and where it ran (files written before sections carried it get the file's line)."""
    text = path.read_text() if path.exists() else ""
    if not text or "quick run" in text.partition("\n")[0]:
        return {}
    head, *parts = re.split(r"^## ", text, flags=re.MULTILINE)
    head_lines = [line for line in head.splitlines() if line.strip()]
    file_run_on = head_lines[1] if len(head_lines) > 1 else ""
    sections = {}
    for part in parts:
        title, _, body = part.partition("\n")
        body = body.strip()
        if body.startswith("```"):
            body = f"{file_run_on}\n\n{body}"
        key = title.split()[0]
        if "/" not in key:  # written before there were two profiles
            key, title = f"{key}/postgres", title.replace(key, f"{key}/postgres", 1)
        sections[key] = f"## {title}\n\n{body}".rstrip()
    return sections


def _postgres_version() -> str:
    from bench.common import ADMIN_URL, connect

    with connect(ADMIN_URL) as conn:
        return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0]


def _timescaledb_version() -> str:
    from bench.common import ADMIN_URLS, connect

    with connect(ADMIN_URLS["timescale"]) as conn:
        return conn.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()[0]


if __name__ == "__main__":
    main()
