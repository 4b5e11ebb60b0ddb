"""Analytics throughput: the session report (analytics/session_report_job.py) over ~10 million
meter values, and settlement periods (analytics/settlement_job.py) for 1,000 meters over a day
of 1-minute readings, each against (a) what a reporting tool would run in plain SQL (the
session_report view; one INSERT ... SELECT of the periods) and (b) the naive per-row Python loop
of the seed systems (a query per session, an INSERT per period), timed on a subset and stated as
such. Each measurement runs in a fresh process, so its peak RSS is its own (it includes the
interpreter and libraries: see the "idle process" row). Answers are compared: the job's against
the view (flat-rate sessions) and against the naive loop (all of the subset), the SQL settlement
against the job's periods.

Run: .venv/bin/python -m bench.analytics [--meter-values 10000000] [--meters 1000]"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import psycopg
from psycopg import sql as pgsql
from psycopg.rows import dict_row

from analytics.cost import money
from analytics.session import end_register, session_energy_kwh
from analytics.session_report import HOUR_US
from analytics.settlement import SettlementConfig, period_start, settle, status, tokens
from analytics.settlement_job import settle_window
from analytics.soc import DEFAULT_KM_PER_KWH, charge_outcome
from analytics.tou import parse_bands
from bench import data
from bench.common import ADMIN_URL, fresh_database, machine, table
from sql import db, queries
from sql.queries import parse

BENCH = parse((Path(__file__).parent / "sql" / "analytics.sql").read_text(), "analytics.sql")
DATABASE = "wattline_bench_analytics"
COMPARED = (
    "end_source",
    "energy_kwh",
    "cost",
    "tax",
    "total",
    "soc_change_pct",
    "range_added_km",
    "average_kw",
    "efficiency_pct",
)
MONEY = ("cost", "tax", "total")


@dataclass
class Measured:
    seconds: float
    rows: int  # input rows covered: meter values or register readings
    units: int  # sessions or settlement periods
    rss_mib: float
    answer: Any = None


def _rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not getrusage's ru_maxrss: a spawned child
    inherits its parent's ru_maxrss across exec, VmHWM starts afresh."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bench(conn: psycopg.Connection, name: str, params: dict | None = None) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(BENCH[name].text, params).fetchall()


def _in_fresh_process(fn, *args) -> Measured:
    """Run fn(*args) in a new interpreter, so peak RSS belongs to that one measurement."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


# --- the session report ---------------------------------------------------------------------


def idle(_url: str) -> Measured:
    """What a process of this module weighs before it does anything."""
    return Measured(0.0, 0, 0, _rss_mib())


def job_report(url: str, lo: datetime, hi: datetime) -> Measured:
    from analytics.session_report_job import sessions

    with db.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        report = sessions(conn, lo, hi)
        seconds = time.perf_counter() - start
        rss = _rss_mib()
        rows = _bench(conn, "meter_values_of_sessions", {"ids": report["transaction_id"].to_list()})
    answer = {
        r["transaction_id"]: r
        for r in report.select("transaction_id", "time_of_use", *COMPARED).to_dicts()
    }
    return Measured(seconds, rows[0]["n"], report.height, rss, answer)


def view_report(url: str, lo: datetime, hi: datetime) -> Measured:
    with db.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        rows = _bench(conn, "view_session_report", {"lo": lo, "hi": hi})
        seconds = time.perf_counter() - start
        rss = _rss_mib()
        covered = _bench(
            conn, "meter_values_of_sessions", {"ids": [r["transaction_id"] for r in rows]}
        )
    answer = {r["transaction_id"]: r for r in rows}
    return Measured(seconds, covered[0]["n"], len(rows), rss, answer)


def _local_seconds(t: datetime, tz: str) -> int:
    local = t.astimezone(ZoneInfo(tz))
    return local.hour * 3600 + local.minute * 60 + local.second


def _band_rate(seconds: int, bands: list, flat: Decimal) -> Decimal:
    for b in bands:  # the first listed band wins
        inside = (
            b.from_s <= seconds < b.to_s
            if b.from_s < b.to_s
            else seconds >= b.from_s or seconds < b.to_s
        )
        if inside:
            return b.rate
    return flat


def naive_report(url: str, lo: datetime, hi: datetime, limit: int) -> Measured:
    """The seed systems' way: list the sessions, then for each one query its readings and walk
    them in Python with Decimal arithmetic, reading by reading."""
    with db.connect(url, autocommit=True) as conn:
        start = time.perf_counter()
        tariffs = {r["tariff_id"]: r for r in conn.execute(queries.get("report_tariffs"))}
        vehicles = {
            r["id_tag"]: r for r in conn.execute(queries.get("report_vehicles"), {"ids": None})
        }
        window = {"lo": lo, "hi": hi, "ids": None, "scan_from": lo, "scan_to": "infinity"}
        transactions = conn.execute(queries.get("report_transactions"), window).fetchall()[:limit]
        answer = {}
        for t in transactions:
            readings = _bench(conn, "naive_session_registers", t)
            latest = None
            for r in readings:
                if latest is None or r["time"] >= latest["time"]:
                    latest = r
            end = end_register(
                t["meter_stop_wh"],
                latest and latest["value"],
                latest and latest["time"],
                t["manual_meter_stop_wh"],
                t["stopped_at"],
            )
            energy = session_energy_kwh(t["meter_start_wh"], end)
            tariff = tariffs.get(t["tariff_id"])
            cost = None
            if tariff is not None and energy is not None:
                bands = parse_bands(tariff["bands"])
                if bands:
                    # The chain meterStart, readings, end register; at equal times meterStart and
                    # meterStop win. The energy between two links is charged at the band of the
                    # later one.
                    links = {r["time"]: r["value"] for r in readings}
                    links[t["started_at"]] = t["meter_start_wh"]
                    if end.at is not None:
                        links[end.at] = end.wh
                    amount, previous = Decimal(0), None
                    for at in sorted(links):
                        if previous is not None:
                            wh = max(links[at] - previous, Decimal(0))
                            rate = _band_rate(
                                _local_seconds(at, t["timezone"]), bands, tariff["energy_rate"]
                            )
                            amount += wh / 1000 * rate
                        previous = links[at]
                    cost = money(amount)
                else:
                    cost = money(energy * tariff["energy_rate"])
            tax = money(cost * tariff["tax_rate"]) if cost is not None else None
            until = t["stopped_at"] or (latest and latest["time"])
            hours = (
                Decimal((until - t["started_at"]).total_seconds() * 1_000_000) / HOUR_US
                if until is not None
                else None
            )
            vehicle = vehicles.get(t["id_tag"]) or {}
            outcome = (
                charge_outcome(
                    energy,
                    battery_kwh=vehicle.get("battery_kwh"),
                    km_per_kwh=vehicle.get("km_per_kwh") or DEFAULT_KM_PER_KWH,
                    hours=hours,
                    connector_max_kw=t["connector_max_kw"],
                )
                if energy is not None
                else None
            )
            answer[t["transaction_id"]] = {
                "end_source": end.source,
                "energy_kwh": energy,
                "cost": cost,
                "tax": tax,
                "total": cost + tax if cost is not None else None,
                "soc_change_pct": outcome and outcome.soc_change_pct,
                "range_added_km": outcome and outcome.range_added_km,
                "average_kw": outcome and outcome.average_kw,
                "efficiency_pct": outcome and outcome.efficiency_pct,
            }
        seconds = time.perf_counter() - start
        rss = _rss_mib()
        covered = _bench(conn, "meter_values_of_sessions", {"ids": list(answer)})
    return Measured(seconds, covered[0]["n"], len(answer), rss, answer)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    numbers = (int, float, Decimal)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


def mismatches(job: dict, other: dict, columns: tuple[str, ...]) -> list[str]:
    """Every differing figure, as 'transaction column: job vs other'."""
    found = []
    for tid, row in other.items():
        mine = job.get(tid)
        if mine is None:
            found.append(f"{tid}: missing from the job's report")
            continue
        found += [
            f"{tid} {c}: {mine[c]} vs {row[c]}" for c in columns if not _same(mine[c], row[c])
        ]
    return found


# --- settlement -----------------------------------------------------------------------------


def _periods(conn: psycopg.Connection) -> dict:
    return {(r["meter_id"], r["period_start"]): r for r in _bench(conn, "settlement_result")}


def job_settlement(url: str, lo: datetime, hi: datetime, readings: int) -> Measured:
    with db.connect(url, autocommit=True) as conn:
        _bench_run(conn, "clear_settlement")
        start = time.perf_counter()
        written = settle_window(conn, lo, hi, SettlementConfig())
        seconds = time.perf_counter() - start
        rss = _rss_mib()
        answer = _periods(conn)
    return Measured(seconds, readings, written, rss, answer)


def compute_settlement(url: str, lo: datetime, hi: datetime, readings: int) -> Measured:
    """settle() alone on a frame already in memory: the Polars part of the job."""
    with db.connect(url, autocommit=True) as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            queries.get("settlement_readings"), {"lo": lo, "hi": hi, "meter_id": None}
        ).fetchall()
    frame = pl.DataFrame(rows, schema_overrides={"time": pl.Datetime("us", "UTC")})
    del rows
    periods = 0
    start = time.perf_counter()
    for (tz,), group in frame.group_by("timezone"):
        periods += settle(group.drop("timezone"), tz, SettlementConfig()).height
    seconds = time.perf_counter() - start
    return Measured(seconds, readings, periods, _rss_mib())


def sql_settlement(url: str, lo: datetime, hi: datetime, readings: int) -> Measured:
    config = SettlementConfig()
    with db.connect(url, autocommit=True) as conn:
        _bench_run(conn, "clear_settlement")
        start = time.perf_counter()
        with conn.transaction():
            written = conn.execute(
                BENCH["sql_settlement"].text,
                {
                    "lo": lo,
                    "hi": hi,
                    "minutes": config.period_minutes,
                    "token_ratio": config.token_ratio,
                },
            ).rowcount
        seconds = time.perf_counter() - start
        rss = _rss_mib()
        answer = _periods(conn)
    return Measured(seconds, readings, written, rss, answer)


def naive_settlement(url: str, lo: datetime, hi: datetime, meters: int) -> Measured:
    """Reading by reading in Python (period_start per reading, Decimal sums), then one INSERT
    per period, all in one transaction (kinder than the seeds' commit per row)."""
    config = SettlementConfig()
    with db.connect(url, autocommit=True) as conn:
        ids = [r["meter_id"] for r in _bench(conn, "bench_meter_ids", {"limit": meters})]
        _bench_run(conn, "clear_settlement")
        start = time.perf_counter()
        periods: dict[tuple, list[Decimal]] = {}
        n = 0
        for r in _bench(conn, "naive_settlement_readings", {"lo": lo, "hi": hi, "meter_ids": ids}):
            key = (r["meter_id"], period_start(r["time"], r["timezone"], config.period_minutes))
            sums = periods.setdefault(key, [Decimal(0), Decimal(0)])
            sums[0] += r["delta_import_wh"] or 0
            sums[1] += r["delta_export_wh"] or 0
            n += 1
        upsert = queries.get("upsert_settlement_period")
        with conn.transaction():
            for (meter_id, begins), (imported, exported) in periods.items():
                net = exported - imported
                conn.execute(
                    upsert,
                    {
                        "meter_id": meter_id,
                        "period_start": begins,
                        "period_end": begins + timedelta(minutes=config.period_minutes),
                        "import_wh": imported,
                        "export_wh": exported,
                        "net_wh": net,
                        "status": status(net),
                        "tokens": tokens(net, config.token_ratio),
                    },
                )
        seconds = time.perf_counter() - start
        rss = _rss_mib()
        answer = _periods(conn)
    return Measured(seconds, n, len(periods), rss, answer)


def _bench_run(conn: psycopg.Connection, name: str) -> None:
    conn.execute(BENCH[name].text)


def period_mismatches(job: dict, other: dict) -> list[str]:
    columns = ("period_end", "import_wh", "export_wh", "net_wh", "status", "tokens")
    found = [f"{k}: missing from the job's periods" for k in other if k not in job]
    for key, row in other.items():
        mine = job.get(key)
        if mine is not None:
            found += [
                f"{key} {c}: {mine[c]} vs {row[c]}" for c in columns if not _same(mine[c], row[c])
            ]
    return found


# --- the run --------------------------------------------------------------------------------


def load(url: str, meter_values: int, days: int, meters: int, log=print) -> tuple:
    charging_minutes = days * data.DAY
    chargers = data.chargers_for(url, meter_values, charging_minutes)
    fleet = data.ChargerFleet(chargers=chargers, minutes=charging_minutes)
    meter_fleet = data.MeterFleet(meters=meters, minutes=data.DAY)
    start = time.perf_counter()
    log(f"loading {chargers} charge points over {days} days (~{meter_values:,} meter values)")
    sessions, values = data.load_charging(url, fleet, log=log)
    log(f"loading {meters} meters × a day of 1-minute readings")
    readings = data.load_meters(url, meter_fleet, log=log)
    data.finish(url, log=log)
    log(f"loaded in {time.perf_counter() - start:.0f} s")
    return fleet, meter_fleet, sessions, values, readings


def _row(name: str, m: Measured, unit: str, base: Measured | None, sql: Measured | None) -> tuple:
    rate = m.rows / m.seconds if m.seconds else float("inf")

    def ratio(other: Measured | None) -> str:
        return "" if other is None else f"{rate / (other.rows / other.seconds):.1f}×"

    return (
        name,
        f"{m.rows:,}",
        f"{m.units:,} {unit}",
        f"{m.seconds:.2f}",
        f"{rate:,.0f}",
        f"{m.rss_mib:,.0f}",
        ratio(sql),
        ratio(base),
    )


HEADER = ("method", "rows in", "out", "seconds", "rows/s", "peak RSS MiB", "× SQL", "× naive")


def _report(title: str, name: str, found: list[str]) -> bool:
    if found:
        print(f"\n!!! FAILURE: {title}: {len(found)} differences between {name}, e.g.:")
        for line in found[:10]:
            print(f"!!!   {line}")
        return False
    print(f"answers equal: {title} ({name})")
    return True


def session_report_bench(url: str, lo: datetime, hi: datetime, naive_sessions: int) -> bool:
    base = _in_fresh_process(idle, url)
    job = _in_fresh_process(job_report, url, lo, hi)
    view = _in_fresh_process(view_report, url, lo, hi)
    naive = _in_fresh_process(naive_report, url, lo, hi, naive_sessions)
    tou = {t for t, r in job.answer.items() if r["time_of_use"]}
    flat = {t: r for t, r in view.answer.items() if t not in tou}
    figures = tuple(c for c in COMPARED if c not in MONEY)
    ok = _report("session report", "job and view", mismatches(job.answer, view.answer, figures))
    ok &= _report("flat-rate money", "job and view", mismatches(job.answer, flat, MONEY))
    ok &= _report(
        "session report", "job and naive loop", mismatches(job.answer, naive.answer, COMPARED)
    )
    rows = [
        ("idle process (interpreter + libraries)", *[""] * 4, f"{base.rss_mib:,.0f}", "", ""),
        _row("session_report_job.sessions (Polars)", job, "sessions", naive, view),
        _row("session_report view (plain SQL)", view, "sessions", naive, None),
        _row("naive loop: a query per session (subset)", naive, "sessions", None, None),
    ]
    title = (
        f"Session report over {job.rows:,} meter values, {job.units:,} sessions of which "
        f"{len(tou):,} time-of-use ({machine()}); the naive loop ran the first "
        f"{naive.units:,} sessions"
    )
    print("\n" + table(title, rows, HEADER))
    return ok


def settlement_bench(url: str, fleet: data.MeterFleet, readings: int, naive_meters: int) -> bool:
    lo, hi = fleet.t0, fleet.end
    settled = _in_fresh_process(job_settlement, url, lo, hi, readings)
    compute = _in_fresh_process(compute_settlement, url, lo, hi, readings)
    in_sql = _in_fresh_process(sql_settlement, url, lo, hi, readings)
    naive = _in_fresh_process(naive_settlement, url, lo, hi, naive_meters)
    ok = _report(
        "settlement", "job and plain SQL", period_mismatches(settled.answer, in_sql.answer)
    )
    ok &= _report(
        "settlement", "job and naive loop", period_mismatches(settled.answer, naive.answer)
    )
    rows = [
        _row(
            "settlement_job.settle_window (read, Polars, upsert)", settled, "periods", naive, in_sql
        ),
        _row("  of which settle() in Polars", compute, "periods", None, None),
        _row("plain SQL INSERT ... SELECT ... ON CONFLICT", in_sql, "periods", naive, None),
        _row("naive loop: per reading, INSERT per period (subset)", naive, "periods", None, None),
    ]
    title = (
        f"Settlement: {fleet.meters:,} meters × a day of 1-minute readings, 5-minute periods "
        f"({machine()}); the naive loop settled {naive_meters:,} meters"
    )
    print("\n" + table(title, rows, HEADER))
    return ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--meter-values", type=int, default=10_000_000)
    p.add_argument("--days", type=int, default=7, help="days of charging they span")
    p.add_argument("--meters", type=int, default=1000, help="meters settled over one day")
    p.add_argument("--naive-sessions", type=int, default=2000, help="sessions the naive loop does")
    p.add_argument("--naive-meters", type=int, default=100, help="meters the naive loop settles")
    p.add_argument("--keep", action="store_true", help=f"keep the {DATABASE} database")
    args = p.parse_args()

    url = fresh_database(DATABASE)
    fleet, meter_fleet, _, _, readings = load(url, args.meter_values, args.days, args.meters)
    ok = session_report_bench(url, fleet.t0, fleet.end, args.naive_sessions)
    ok &= settlement_bench(url, meter_fleet, readings, args.naive_meters)
    if not ok:
        print("\n!!! FAILURE: answers differ (above)")
    if not args.keep:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            drop = pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(DATABASE))
            conn.execute(drop)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
