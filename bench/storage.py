"""Storage and TimescaleDB's own work, in the benchmark's profile: a day of a charging fleet
(``--chargers`` two-connector charge points in back-to-back sessions, 1-minute meter values):
bytes per meter value stored, the connector rollups' refresh for that day, and two raw queries
(one charge point's day; the fleet's energy by charge point). In the timescale profile the
chunks are then compressed (as the policy does after 7 days) and measured again: bytes per
value and the same queries over compressed chunks.

Run: WATTLINE_BENCH_PROFILE=timescale .venv/bin/python -m bench.storage [--chargers 2000]"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg
from psycopg import sql as pgsql
from psycopg.rows import tuple_row

from bench import data
from bench.common import ADMIN_URL, PROFILE, connect, fresh_database, machine, table, timed
from sql import rollups

DATABASE = "wattline_bench_storage"
ROLLUPS = ["connector_energy_hourly", "connector_energy_daily"]
# The raw reads a rollup spares: one charge point's day, and energy per charge point for the
# fleet's day (what connector_energy_daily answers).
QUERIES = {
    "one charge point's day": (
        "SELECT time, measurand, value, delta FROM wattline.meter_values"
        " WHERE charge_point_id = %(cp)s"
        " AND time >= %(lo)s AND time < %(hi)s ORDER BY time, connector_id, measurand, phase"
    ),
    "fleet energy by charge point": (
        "SELECT charge_point_id, sum(delta) FROM wattline.meter_values"
        " WHERE measurand = 'Energy.Active.Import.Register' AND time >= %(lo)s AND time < %(hi)s"
        " GROUP BY 1 ORDER BY 1"
    ),
}


def size_bytes(conn: psycopg.Connection) -> int:
    query = (
        "SELECT hypertable_size('wattline.meter_values')"
        if PROFILE == "timescale"
        else "SELECT pg_total_relation_size('wattline.meter_values')"
    )
    return conn.execute(query).fetchone()[0]


def query_ms(conn: psycopg.Connection, text: str, params: dict, runs: int) -> tuple[float, list]:
    conn.execute(text, params).fetchall()  # warm
    times, answer = [], None
    for _ in range(runs):
        start = time.perf_counter()
        answer = conn.execute(text, params).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), answer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--chargers", type=int, default=2000)
    p.add_argument("--runs", type=int, default=9, help="runs of each query (median kept)")
    args = p.parse_args()
    url = fresh_database(DATABASE)
    fleet = data.ChargerFleet(chargers=args.chargers, minutes=data.DAY)
    with timed() as t:
        _sessions, values = data.load_charging(url, fleet, log=print)
    rows = [("load a day (generated in SQL, indexes after)", f"{t['seconds']:.1f} s", "")]
    params = {"lo": fleet.t0, "hi": fleet.end, "cp": "CP-00001"}
    with connect(url, autocommit=True, row_factory=tuple_row) as conn:
        conn.execute("VACUUM ANALYZE wattline.meter_values")
        params["cp"] = conn.execute("SELECT min(id) FROM wattline.charge_points").fetchone()[0]
        with timed() as t:
            rollups.refresh(conn, ROLLUPS)
        rows.append(
            ("refresh connector rollups (hourly + daily) for the day", f"{t['seconds']:.2f} s", "")
        )
        before = size_bytes(conn)
        rows.append(("meter_values: bytes per value", f"{before / values:.0f} B", f"{before:,} B"))
        answers = {}
        for name, text in QUERIES.items():
            ms, answers[name] = query_ms(conn, text, params, args.runs)
            rows.append((f"query: {name}", f"{ms:.1f} ms", f"{len(answers[name]):,} rows"))
        if PROFILE == "timescale":
            with timed() as t:
                chunks = conn.execute(
                    "SELECT count(compress_chunk(c)) FROM show_chunks('wattline.meter_values') c"
                ).fetchone()[0]
            conn.execute("VACUUM ANALYZE wattline.meter_values")
            rows.append((f"compress the day ({chunks} chunks)", f"{t['seconds']:.1f} s", ""))
            after = size_bytes(conn)
            rows.append((
                "meter_values compressed: bytes per value",
                f"{after / values:.0f} B",
                f"{after:,} B ({before / after:.1f}× smaller)",
            ))  # fmt: skip
            for name, text in QUERIES.items():
                ms, answer = query_ms(conn, text, params, args.runs)
                same = "same answer" if answer == answers[name] else "ANSWER DIFFERS"
                rows.append((f"query over compressed chunks: {name}", f"{ms:.1f} ms", same))
                if answer != answers[name]:
                    raise SystemExit(f"{name}: compressed chunks answer differently")
    print(
        table(
            f"Storage, {PROFILE} profile: a day of {args.chargers:,} charge points,"
            f" {values:,} meter values ({machine()})",
            rows,
            ("step", "measured", "detail"),
        )
    )
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(DATABASE)))


if __name__ == "__main__":
    main()
