"""The analytics and dashboard benchmarks at a tiny size: the generated data is what the
generators promise (figures computed by hand), the rollups agree with the raw rows for every
dashboard query, and the benchmarks' baselines give the same answers as the real code paths.
No timings are asserted."""

from __future__ import annotations

import math
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import tuple_row

# bench/ is not an installed package (benchmarks run from the work tree with `python -m`).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import analytics, dashboard_queries, data  # noqa: E402
from sql import db, queries  # noqa: E402


def _rows(url: str, query: str, params: dict | None = None) -> list[tuple]:
    with psycopg.connect(db.with_session_options(url), row_factory=tuple_row) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
def two_meters_ten_minutes(db_url: str) -> str:
    """2 meters × 10 minutes at fixed increments: 10 and 20 Wh a minute, no swing, no export.
    Chunks of 4 minutes, so readings straddle chunk edges."""
    fleet = data.MeterFleet(
        meters=2, minutes=10, import_wh_per_min=10, import_peak_wh_per_min=0, export_wh_per_day=0
    )
    assert data.load_meters(db_url, fleet, workers=1, chunk_minutes=4) == 20
    data.finish(db_url, workers=1)
    return db_url


def test_fixed_increments_give_the_hand_computed_registers_and_rollups(two_meters_ten_minutes):
    url = two_meters_ten_minutes
    readings = _rows(
        url,
        "SELECT g.serial, r.time, r.import_wh, r.delta_import_wh, r.export_wh, r.delta_export_wh"
        "  FROM wattline.register_readings r JOIN wattline.meter_registry g ON g.id = r.meter_id"
        " ORDER BY g.serial, r.time",
    )
    expected = [
        (serial, data.T0 + timedelta(minutes=k), start + rate * k, 0 if k == 0 else rate, 0, 0)
        for serial, start, rate in (
            ("BENCH-M000001", 1_000_000, 10),
            ("BENCH-M000002", 2_000_000, 20),
        )
        for k in range(10)
    ]
    assert readings == expected
    # 9 intervals after each register's first reading: 90 Wh and 180 Wh, i.e. 0.09 and 0.18 kWh.
    daily = _rows(
        url,
        "SELECT g.serial, e.bucket, e.import_wh, e.export_wh, e.import_register_wh, e.readings"
        "  FROM wattline.meter_energy_daily e JOIN wattline.meter_registry g ON g.id = e.meter_id"
        " ORDER BY g.serial",
    )
    assert daily == [
        ("BENCH-M000001", data.T0, 90, 0, 1_000_090, 10),
        ("BENCH-M000002", data.T0, 180, 0, 2_000_180, 10),
    ]
    five = _rows(
        url,
        "SELECT g.serial, e.bucket, e.import_wh FROM wattline.meter_energy_5m e"
        "  JOIN wattline.meter_registry g ON g.id = e.meter_id ORDER BY 1, 2",
    )
    later = data.T0 + timedelta(minutes=5)
    assert five == [
        ("BENCH-M000001", data.T0, 40),
        ("BENCH-M000001", later, 50),
        ("BENCH-M000002", data.T0, 80),
        ("BENCH-M000002", later, 100),
    ]
    by_meter = _rows(
        url,
        queries.get("dash_energy_by_meter_day"),
        {"lo": data.T0, "hi": data.T0 + timedelta(days=1)},
    )
    assert by_meter == [
        (data.T0, "BENCH-M000001", 0.09, 0.0),
        (data.T0, "BENCH-M000002", 0.18, 0.0),
    ]


def _import_at(k: int, rate: float, peak: float) -> float:
    return rate * k + peak * (k - 1440 / (2 * math.pi) * math.sin(2 * math.pi * k / 1440))


def test_a_day_of_swinging_import_and_solar_export_adds_up(db_url):
    """4 meters for a day with the default shapes: meter 4 is a prosumer exporting exactly
    15,000 Wh a day; every register only climbs and every delta is its climb since the last
    reading; hourly energy adds up to the daily."""
    fleet = data.MeterFleet(meters=4, minutes=data.DAY)
    data.load_meters(db_url, fleet, workers=2, chunk_minutes=180)
    data.finish(db_url, workers=2)
    bad = _rows(
        db_url,
        "SELECT count(*) FROM (SELECT delta_import_wh AS di, delta_export_wh AS de,"
        "  import_wh - lag(import_wh) OVER w AS i, export_wh - lag(export_wh) OVER w AS e"
        "  FROM wattline.register_readings WINDOW w AS (PARTITION BY register_id ORDER BY time)) x"
        " WHERE di <> coalesce(i, 0) OR de <> coalesce(e, 0) OR di < 0 OR de < 0",
    )
    assert bad == [(0,)]
    daily = dict(
        (serial, (imported, exported))
        for serial, imported, exported in _rows(
            db_url,
            "SELECT g.serial, e.import_wh, e.export_wh FROM wattline.meter_energy_daily e"
            "  JOIN wattline.meter_registry g ON g.id = e.meter_id",
        )
    )
    # Meter i: rate 4 × (1 + (i − 1) mod 3) Wh/min, swing 6 × (1 + (i − 1) mod 2); the day's
    # energy is floor(F(1439)) − floor(F(0)) = floor(F(1439)).
    for i, (rate, peak) in enumerate([(4, 6), (8, 12), (12, 6), (4, 12)], start=1):
        assert daily[f"BENCH-M00000{i}"][0] == math.floor(_import_at(1439, rate, peak))
    assert [daily[f"BENCH-M00000{i}"][1] for i in range(1, 5)] == [0, 0, 0, 15_000]
    assert _rows(
        db_url,
        "SELECT count(*) FROM (SELECT meter_id, sum(import_wh) i, sum(export_wh) e"
        "  FROM wattline.meter_energy_hourly GROUP BY 1) h"
        "  JOIN wattline.meter_energy_daily d USING (meter_id)"
        " WHERE h.i <> d.import_wh OR h.e <> d.export_wh",
    ) == [(0,)]


def test_sessions_are_the_hand_computed_ones(db_url):
    """One charge point for 3 hours. Connector 1 (c = 1): 11 kW, 45-minute sessions every 75
    minutes from minute 37, so two of them, 8,250 Wh each; connector 2 (c = 2): 22 kW, 60
    minutes every 100 from minute 74, one session of 22,000 Wh. Each session of L minutes has
    3L − 1 meter values: 2 × 134 + 179 = 447."""
    assert data.chargers_for(db_url, 447, 180) == 1
    # One more row needs charge point 3: charge point 2's first sessions end after minute 180.
    assert data.chargers_for(db_url, 448, 180) == 3
    fleet = data.ChargerFleet(chargers=1, minutes=180)
    assert data.load_charging(db_url, fleet, workers=1, chunk_transactions=2) == (3, 447)
    data.finish(db_url, workers=1)

    def at(minutes: int):
        return data.T0 + timedelta(minutes=minutes)

    sessions = _rows(
        db_url,
        "SELECT connector_id, started_at, stopped_at, meter_start_wh, meter_end_wh,"
        "       energy_kwh, end_source, cost, tax, total"
        "  FROM wattline.session_report ORDER BY transaction_id",
    )
    d = Decimal
    assert sessions == [
        (
            1,
            at(minutes=37),
            at(minutes=82),
            10_000_000,
            10_008_250,
            d("8.250"),
            "meter_stop",
            d("103.13"),
            d("18.56"),
            d("121.69"),
        ),
        (
            2,
            at(minutes=74),
            at(minutes=134),
            20_000_000,
            20_022_000,
            d("22.000"),
            "meter_stop",
            d("275.00"),
            d("49.50"),
            d("324.50"),
        ),
        (
            1,
            at(minutes=112),
            at(minutes=157),
            10_008_250,
            10_016_500,
            d("8.250"),
            "meter_stop",
            d("103.13"),
            d("18.56"),
            d("121.69"),
        ),
    ]
    assert _rows(db_url, "SELECT sum(energy_wh) FROM wattline.connector_energy_daily") == [
        (38_500,)
    ]
    assert _rows(db_url, "SELECT sum(energy_wh) FROM wattline.connector_energy_hourly") == [
        (38_500,)
    ]
    # The register climbs by floor(11000 × j / 60) Wh j minutes into a session.
    assert _rows(
        db_url,
        "SELECT context, value, delta FROM wattline.meter_values"
        " WHERE transaction_id = 1 AND measurand = 'Energy.Active.Import.Register'"
        " ORDER BY time LIMIT 3",
    ) == [
        ("Transaction.Begin", 10_000_000, 0),
        ("Sample.Periodic", 10_000_183, 183),
        ("Sample.Periodic", 10_000_366, 183),
    ]


@pytest.fixture
def small_fleets(db_url: str) -> tuple[str, data.MeterFleet, data.ChargerFleet]:
    """3 meters and 2 charge points over 3 days: enough for day and week ranges to straddle the
    data's edges."""
    meters = data.MeterFleet(meters=3, minutes=3 * data.DAY)
    chargers = data.ChargerFleet(chargers=2, minutes=3 * data.DAY)
    data.load_meters(db_url, meters, workers=2, chunk_minutes=600)
    data.load_charging(db_url, chargers, workers=2, chunk_transactions=20)
    data.finish(db_url, workers=2)
    return db_url, meters, chargers


def test_rollup_and_raw_dashboard_queries_give_identical_answers(small_fleets):
    url, meters, _ = small_fleets
    picked = dashboard_queries.ranges(meters.t0, meters.end, runs=12)
    assert any(p["lo"].second or p["lo"].minute for _, p in picked)  # presets off bucket edges
    devices = ["BENCH-CP00001", "BENCH-CP00002"]
    for name in dashboard_queries.QUERIES:
        per_span = dashboard_queries.measure(url, name, picked, devices)
        assert [m for t in per_span.values() for m in t.mismatches] == []
        assert sum(sum(t.rows) for t in per_span.values()) > 0


def test_the_baselines_answer_as_the_jobs_do(small_fleets):
    url, meters, chargers = small_fleets
    lo, hi = chargers.t0, chargers.end
    job = analytics.job_report(url, lo, hi)
    view = analytics.view_report(url, lo, hi)
    naive = analytics.naive_report(url, lo, hi, limit=40)
    assert job.units == view.units > 40 and naive.units == 40
    assert any(r["time_of_use"] for r in job.answer.values())
    assert analytics.mismatches(job.answer, naive.answer, analytics.COMPARED) == []
    flat = {t: r for t, r in view.answer.items() if not job.answer[t]["time_of_use"]}
    assert analytics.mismatches(job.answer, flat, analytics.COMPARED) == []

    lo, hi = meters.t0, meters.t0 + timedelta(days=1)
    settled = analytics.job_settlement(url, lo, hi, readings=0)
    assert settled.units == 3 * 288
    in_sql = analytics.sql_settlement(url, lo, hi, readings=0)
    assert analytics.period_mismatches(settled.answer, in_sql.answer) == []
    naive_s = analytics.naive_settlement(url, lo, hi, meters=2)
    assert naive_s.units == 2 * 288
    assert analytics.period_mismatches(settled.answer, naive_s.answer) == []


def test_a_bulk_load_leaves_the_indexes_and_constraints_as_migrated(db_url):
    query = (
        "SELECT tablename, indexname, indexdef FROM pg_indexes"
        " WHERE schemaname = 'wattline' AND tablename IN ('register_readings', 'meter_values')"
        " UNION ALL SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
        "  FROM pg_constraint WHERE conrelid IN"
        "  ('wattline.register_readings'::regclass, 'wattline.meter_values'::regclass)"
        " ORDER BY 1, 2, 3"
    )
    migrated = _rows(db_url, query)
    data.load_meters(db_url, data.MeterFleet(meters=2, minutes=30), workers=1)
    data.load_charging(db_url, data.ChargerFleet(chargers=1, minutes=180), workers=1)
    assert _rows(db_url, query) == migrated
    assert len(migrated) > 6
