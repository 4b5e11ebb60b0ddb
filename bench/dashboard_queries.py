"""Dashboard latency: each dashboard query that reads energy over time from a rollup
(sql/queries/dashboard.sql), against the same answer computed from the raw rows
(bench/sql/dashboard_raw.sql), over a month of 1-minute data with at least ``--raw-rows`` rows
in each raw table (register readings; charger meter values). Every query runs ``--runs`` times
with the ranges the pages offer (the last 24 hours, 7 days or 30 days before a "now" inside the
data, or whole custom days; one charge point or the fleet); each answer must equal the raw one,
and a mismatch is printed as a FAILURE. Latency is the client's: execute and fetch every row.
Targets: rollup p95 under 200 ms, and at least 20× faster than raw.

Run: .venv/bin/python -m bench.dashboard_queries [--raw-rows 20000000] [--runs 50]"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import tuple_row

from bench import data
from bench.common import ADMIN_URL, PROFILE, connect, fresh_database, machine, table
from dashboard.ranges import PRESETS, days_range
from sql import queries
from sql.queries import parse

RAW = parse((Path(__file__).parent / "sql" / "dashboard_raw.sql").read_text(), "dashboard_raw.sql")
DATABASE = "wattline_bench_dashboard"
P95_TARGET_MS = 200
RATIO_TARGET = 20
# dashboard query -> (its raw equivalent, what it covers, its bucket width)
QUERIES = {
    "dash_charger_energy_hourly": ("raw_charger_energy_hourly", "one charge point", 3600),
    "dash_energy_by_charger_day": ("raw_energy_by_charger_day", "fleet", 86400),
    "dash_energy_by_meter_day": ("raw_energy_by_meter_day", "fleet", 86400),
}
SPANS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
PRESET_OF = {"day": "Last 24 hours", "week": "Last 7 days", "month": "Last 30 days"}


@dataclass
class Timings:
    rollup_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def ranges(t0: datetime, end: datetime, runs: int, seed: int = 7) -> list[tuple[str, dict]]:
    """``runs`` (span, {lo, hi}) as the pages pick them, cycling day, week, month: a preset
    before a "now" somewhere inside the data (floored to 10 s, as the pages do), or whole days
    picked on the calendar."""
    rng = random.Random(seed)
    picked = []
    for i in range(runs):
        span = list(SPANS)[i % 3]
        width = SPANS[span]
        room = int((end - t0 - width).total_seconds())
        if (i // 3) % 2 == 0:
            now = t0 + width + timedelta(seconds=rng.randrange(0, max(room, 1), 10))
            lo, hi = now - PRESETS[PRESET_OF[span]], now
        else:
            first = (t0 + timedelta(days=rng.randrange(0, max(room // 86400, 0) + 1))).date()
            lo, hi = days_range(first, first + width - timedelta(days=1))
        picked.append((span, {"lo": lo, "hi": hi}))
    return picked


def raw_window(params: dict, width_s: int) -> dict:
    """The raw rows behind the buckets that start in [lo, hi): from the first bucket edge at or
    after lo to the first at or after hi (hour and day buckets have UTC edges)."""

    def edge(t: datetime) -> datetime:
        return datetime.fromtimestamp(-(-int(t.timestamp()) // width_s) * width_s, UTC)

    return params | {"raw_lo": edge(params["lo"]), "raw_hi": edge(params["hi"])}


def _fetch(conn: psycopg.Connection, text: str, params: dict) -> tuple[float, list]:
    start = time.perf_counter()
    rows = conn.execute(text, params).fetchall()
    return (time.perf_counter() - start) * 1000, rows


def measure(
    url: str, name: str, picked: list[tuple[str, dict]], devices: list[str], seed: int = 11
) -> dict[str, Timings]:
    """Each (span, range) once from the rollup and once from raw rows; per span."""
    rollup_text, raw_text = queries.get(name), RAW[QUERIES[name][0]].text
    width_s = QUERIES[name][2]
    rng = random.Random(seed)
    out: dict[str, Timings] = {}
    with connect(url, autocommit=True, row_factory=tuple_row) as conn:
        # Plan as the dashboard's role does (sql/grants.sql): never a generic plan.
        conn.execute("SET plan_cache_mode = force_custom_plan")
        for _span, params in picked[:3]:  # warm up: caches, plans, prepared statements
            params = params | {"charge_point_id": devices[0]}
            _fetch(conn, rollup_text, params)
            _fetch(conn, raw_text, raw_window(params, width_s))
        for span, params in picked:
            params = params | {"charge_point_id": rng.choice(devices)}
            got = out.setdefault(span, Timings())
            ms, rollup_rows = _fetch(conn, rollup_text, params)
            got.rollup_ms.append(ms)
            ms, raw_rows = _fetch(conn, raw_text, raw_window(params, width_s))
            got.raw_ms.append(ms)
            got.rows.append(len(rollup_rows))
            if rollup_rows != raw_rows:
                pairs = zip(rollup_rows, raw_rows, strict=False)
                first = next(((a, b) for a, b in pairs if a != b), None)
                got.mismatches.append(
                    f"{name} {params}: {len(rollup_rows)} rollup rows, {len(raw_rows)} raw rows, "
                    f"first difference (rollup, raw): {first}"
                )
    return out


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def summary_rows(name: str, per_span: dict[str, Timings]) -> tuple[list[tuple], bool]:
    rows, met = [], True
    every = Timings()
    for span in SPANS:
        t = per_span.get(span)
        if t:
            every.rollup_ms += t.rollup_ms
            every.raw_ms += t.raw_ms
            every.rows += t.rows
    for span, t in [*((s, per_span[s]) for s in SPANS if s in per_span), ("all", every)]:
        roll50, roll95 = statistics.median(t.rollup_ms), p95(t.rollup_ms)
        raw50, raw95 = statistics.median(t.raw_ms), p95(t.raw_ms)
        ok = roll95 < P95_TARGET_MS and raw95 / roll95 >= RATIO_TARGET
        if span == "all":
            met &= ok
        rows.append(
            (
                name if span == "day" else "",
                QUERIES[name][1] if span == "day" else "",
                span,
                len(t.rollup_ms),
                f"{statistics.median(t.rows):,.0f}",
                f"{roll50:.1f}",
                f"{roll95:.1f}",
                f"{raw50:,.1f}",
                f"{raw95:,.1f}",
                f"{raw50 / roll50:,.0f}×",
                f"{raw95 / roll95:,.0f}×",
                "yes" if ok else "NO",
            )
        )
    return rows, met


HEADER = (
    "query",
    "covers",
    "range",
    "runs",
    "rows out (median)",
    "rollup p50 ms",
    "rollup p95 ms",
    "raw p50 ms",
    "raw p95 ms",
    "× p50",
    "× p95",
    "target met",
)


def load(url: str, raw_rows: int, days: int, log=print) -> tuple[data.MeterFleet, list[str]]:
    minutes = days * data.DAY
    meters = data.MeterFleet.for_rows(raw_rows, days)
    chargers = data.chargers_for(url, raw_rows, minutes)
    start = time.perf_counter()
    log(f"loading {meters.meters} meters × {days} days of 1-minute readings")
    data.load_meters(url, meters, log=log)
    log(f"loading {chargers} charge points × {days} days of sessions")
    data.load_charging(url, data.ChargerFleet(chargers=chargers, minutes=minutes), log=log)
    data.finish(url, log=log)
    log(f"loaded in {time.perf_counter() - start:.0f} s")
    with connect(url, row_factory=tuple_row) as conn:
        devices = [r[0] for r in conn.execute("SELECT id FROM wattline.charge_points ORDER BY id")]
    return meters, devices


def counts(url: str) -> dict[str, int]:
    with connect(url, row_factory=tuple_row) as conn:
        return {
            t: conn.execute(
                pgsql.SQL("SELECT count(*) FROM wattline.{}").format(pgsql.Identifier(t))
            ).fetchone()[0]
            for t in (
                "register_readings",
                "meter_values",
                "meter_energy_daily",
                "connector_energy_hourly",
                "connector_energy_daily",
            )
        }


def explain(url: str, name: str, params: dict) -> str:
    with connect(url, row_factory=tuple_row) as conn:
        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + queries.get(name), params)
        return "\n".join(r[0] for r in plan)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--raw-rows", type=int, default=20_000_000, help="rows in each raw table")
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--runs", type=int, default=50, help="runs of each query (day, week, month)")
    p.add_argument("--explain", action="store_true", help="print each rollup query's plan")
    p.add_argument("--query", action="append", choices=list(QUERIES), help="only these queries")
    p.add_argument("--reuse", action="store_true", help="use the loaded database as it is")
    p.add_argument("--keep", action="store_true", help=f"keep the {DATABASE} database")
    args = p.parse_args()

    if args.reuse:
        params = psycopg.conninfo.conninfo_to_dict(ADMIN_URL) | {"dbname": DATABASE}
        url = psycopg.conninfo.make_conninfo(**params)
        fleet = data.MeterFleet(meters=0, minutes=args.days * data.DAY)
        with connect(url, row_factory=tuple_row) as conn:
            devices = [
                r[0] for r in conn.execute("SELECT id FROM wattline.charge_points ORDER BY id")
            ]
    else:
        url = fresh_database(DATABASE)
        fleet, devices = load(url, args.raw_rows, args.days)
    sizes = counts(url)
    picked = ranges(fleet.t0, fleet.end, args.runs)
    printed, failures, all_met = [], [], True
    chosen = args.query or list(QUERIES)
    for name in chosen:
        per_span = measure(url, name, picked, devices)
        rows, met = summary_rows(name, per_span)
        printed += rows
        all_met &= met
        failures += [m for t in per_span.values() for m in t.mismatches]
        if args.explain:
            month = next(params for span, params in picked if span == "month")
            print(
                f"\n{name}, a month:\n"
                + explain(url, name, month | {"charge_point_id": devices[0]})
            )
    print()
    print(
        table(
            f"Dashboard queries, {PROFILE} profile: rollup vs the same answer from raw rows"
            f" ({machine()}); "
            f"{sizes['register_readings']:,} register readings, "
            f"{sizes['meter_values']:,} meter values",
            printed,
            HEADER,
        )
    )
    print(
        f"\ntargets: rollup p95 < {P95_TARGET_MS} ms and raw p95 / rollup p95 ≥ {RATIO_TARGET}×"
        f" — {'met' if all_met else 'NOT met'} (judged on each query's 'all' row)"
    )
    if failures:
        print(f"\n!!! FAILURE: {len(failures)} answers differ between rollup and raw:")
        for line in failures[:20]:
            print(f"!!!   {line}")
    else:
        print(f"answers equal: all {len(chosen) * args.runs} rollup answers equal the raw ones")
    if not args.keep and not args.reuse:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(DATABASE))
            )
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
