"""Rollups equal the same query over raw rows, in both storage profiles, and the energy figures
come out as computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import rollup_data
from psycopg import sql as pgsql

from sql import rollups

# rollup -> (the raw query that must give the same rows, its bucket width)
EQUIVALENTS = {
    "connector_energy_hourly": ("raw_connector_energy", "1 hour"),
    "connector_energy_daily": ("raw_connector_energy", "1 day"),
    "connector_energy_15m": ("raw_connector_energy", "15 minutes"),
    "meter_energy_5m": ("raw_meter_energy", "5 minutes"),
    "meter_energy_hourly": ("raw_meter_energy", "1 hour"),
    "meter_energy_daily": ("raw_meter_energy", "1 day"),
    "prepay_balance_daily": ("raw_prepay_balance_daily", "1 day"),
}
METER_A = "00000000-0000-0000-0000-00000000000a"
METER_B = "00000000-0000-0000-0000-00000000000b"


@pytest.fixture
def loaded(tuple_conn):
    """A connection to a migrated database of the test's profile, holding the fixed data with
    every rollup refreshed. The session time zone is pinned away from UTC on purpose: buckets
    must not depend on it."""
    conn = tuple_conn
    conn.execute("SET TIME ZONE 'Asia/Kolkata'")
    rollup_data.load(conn)
    rollups.refresh(conn)
    return conn


def _scalar(conn, query, params=None):
    return conn.execute(query, params).fetchone()[0]


@pytest.mark.parametrize("rollup", sorted(EQUIVALENTS))
def test_each_rollup_equals_the_same_query_over_raw_rows(loaded, rollup):
    raw_name, width = EQUIVALENTS[rollup]
    raw = pgsql.SQL(rollup_data.q(raw_name).rstrip(";"))
    table = pgsql.SQL("SELECT * FROM wattline.{}").format(pgsql.Identifier(rollup))
    differing = pgsql.SQL(
        "SELECT count(*) FROM (({t} EXCEPT {r}) UNION ALL ({r} EXCEPT {t})) AS d"
    ).format(t=table, r=raw)
    rows = _scalar(loaded, pgsql.SQL("SELECT count(*) FROM ({}) AS t").format(table))
    assert rows > 0, "an empty rollup would match an empty raw query"
    assert _scalar(loaded, differing, {"width": width}) == 0


def test_energy_across_a_register_reset_counts_no_negative_energy(loaded):
    # SINGLE register of meter a: 50000 + 5n + n%3 for n < 200 adds 996 Wh (last - first:
    # 50995 + 1 - 50000); at n = 200 it drops to 0 (adds 0), then 11 Wh a reading up to
    # n = 420 adds 220 * 11 = 2420 Wh. Total 3416 Wh, in every width.
    for rollup in ("meter_energy_5m", "meter_energy_hourly", "meter_energy_daily"):
        total = _scalar(
            loaded,
            pgsql.SQL("SELECT sum(import_wh) FROM wattline.{} WHERE meter_id = %s").format(
                pgsql.Identifier(rollup)
            ),
            [METER_A],
        )
        assert total == 3416, rollup
    # CP-2: 120000 + 61n + n²%7 up to n = 149 adds 61*149 + 22201%7 = 9093 Wh; then it resets
    # to 0 and adds 90 Wh a reading for 250 readings = 22500 Wh.
    for rollup in ("connector_energy_15m", "connector_energy_hourly", "connector_energy_daily"):
        total = _scalar(
            loaded,
            pgsql.SQL(
                "SELECT sum(energy_wh) FROM wattline.{} WHERE charge_point_id = 'CP-2'"
            ).format(pgsql.Identifier(rollup)),
        )
        assert total == 9093 + 22500, rollup


def test_hourly_energy_adds_up_to_daily_and_to_last_minus_first(loaded):
    # Element A of meter b: 50000 + 17n + n%3 and export 3n, n = 0..420, no reset:
    # import 17*420 + 0 - 0 = 7140 Wh, export 1260 Wh.
    sums = {
        rollup: loaded.execute(
            pgsql.SQL(
                "SELECT sum(import_wh), sum(export_wh) FROM wattline.{}"
                " WHERE meter_id = %s AND element = 'A'"
            ).format(pgsql.Identifier(rollup)),
            [METER_B],
        ).fetchone()
        for rollup in ("meter_energy_5m", "meter_energy_hourly", "meter_energy_daily")
    }
    assert set(sums.values()) == {(7140, 1260)}
    # CP-1 never resets: 61*400 + 160000%7 = 24401 Wh, hourly and daily alike.
    for rollup in ("connector_energy_15m", "connector_energy_hourly", "connector_energy_daily"):
        total = _scalar(
            loaded,
            pgsql.SQL(
                "SELECT sum(energy_wh) FROM wattline.{} WHERE charge_point_id = 'CP-1'"
            ).format(pgsql.Identifier(rollup)),
        )
        assert total == 24401


def test_energy_between_readings_lands_in_the_bucket_of_the_later_one(loaded):
    # CP-1 readings at 23:57 (n = 23) and 00:02 (n = 24) on 2024-03-30/31: the 61 + (576%7 -
    # 529%7) = 61 + 2 - 4 = 59 Wh between them belong to the 00:00 hour of the 31st.
    hour = datetime(2024, 3, 31, 0, 0, tzinfo=UTC)
    first_reading_energy = _scalar(
        loaded,
        "SELECT delta FROM wattline.meter_values WHERE charge_point_id = 'CP-1'"
        " AND measurand = 'Energy.Active.Import.Register' AND time = %s",
        [datetime(2024, 3, 31, 0, 2, tzinfo=UTC)],
    )
    assert first_reading_energy == 59
    # That hour holds readings n = 24..35: 61*12 + (35²%7 - 23²%7) = 732 + 0 - 4 = 728 Wh.
    energy = _scalar(
        loaded,
        "SELECT energy_wh FROM wattline.connector_energy_hourly"
        " WHERE charge_point_id = 'CP-1' AND bucket = %s",
        [hour],
    )
    assert energy == 728


def test_day_buckets_are_utc_days_whatever_the_session_time_zone(loaded):
    buckets = [
        r[0]
        for r in loaded.execute(
            "SELECT DISTINCT bucket FROM wattline.connector_energy_daily ORDER BY 1"
        )
    ]
    assert buckets == [
        datetime(2024, 3, 30, tzinfo=UTC),
        datetime(2024, 3, 31, tzinfo=UTC),
        datetime(2024, 4, 1, tzinfo=UTC),
    ]


def test_prepay_balance_daily_by_hand(loaded):
    # Day 2024-03-30 holds readings n = 0..110 (00:05 + 13n min < 24:00 ⇔ n ≤ 110):
    # balance 50 - 0.75*(n % 60): max 50, min 50 - 0.75*59 = 5.75, last (n = 110) 50 - 37.5.
    row = loaded.execute(
        "SELECT min_balance, max_balance, last_balance, last_emergency_credit, readings"
        " FROM wattline.prepay_balance_daily WHERE bucket = '2024-03-30 00:00+00'"
    ).fetchone()
    assert tuple(row) == (5.75, 50, 12.5, 15, 111)


def test_a_resent_batch_counts_once(loaded):
    before = loaded.execute(
        "SELECT sum(energy_wh), sum(readings) FROM wattline.connector_energy_daily"
    ).fetchone()
    assert rollup_data.stage(loaded, 0) == (0, 0)
    assert rollup_data.stage(loaded, 1) == (0, 0)
    rollups.refresh(loaded)
    after = loaded.execute(
        "SELECT sum(energy_wh), sum(readings) FROM wattline.connector_energy_daily"
    ).fetchone()
    assert after == before
    assert before[1] == 2 * 401  # two connectors, 401 register readings each
