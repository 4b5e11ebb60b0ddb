"""The settlement job on the real PostgreSQL server: DST days, and Polars equals the SQL rollup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from analytics.settlement import SettlementConfig
from analytics.settlement_job import settle_new, settle_pass, settle_window
from sql import db, rollups

LONDON_METER = "00000000-0000-0000-0000-0000000000d1"
UTC_METER = "00000000-0000-0000-0000-0000000000d2"


@pytest.fixture
def conn(db_url):
    with psycopg.connect(db.with_session_options(db_url), autocommit=True) as c:
        c.execute(
            "INSERT INTO wattline.meter_registry (id, serial, kind, timezone) VALUES"
            " (%(ldn)s, 'PRO-LDN', 'prosumer', 'Europe/London'),"
            " (%(utc)s, 'PRO-UTC', 'prosumer', 'UTC')",
            {"ldn": LONDON_METER, "utc": UTC_METER},
        )
        c.execute(
            "INSERT INTO wattline.meter_registers (meter_id, element)"
            " VALUES (%(ldn)s, 'SINGLE'), (%(utc)s, 'A'), (%(utc)s, 'B')",
            {"ldn": LONDON_METER, "utc": UTC_METER},
        )
        yield c


def _load_minutely(conn, meter: str, start: datetime, minutes: int) -> None:
    """A reading a minute per register: import +1 Wh, export +3 Wh (element B: +2 and +0)."""
    with conn.transaction():
        conn.execute("SELECT wattline.create_staging()")
        conn.execute(
            "INSERT INTO pg_temp.stage_register_readings"
            " (time, register_id, meter_id, element, import_wh, export_wh)"
            " SELECT %(start)s + n * interval '1 minute', r.register_id, r.meter_id, r.element,"
            "        1000 + n * CASE r.element WHEN 'B' THEN 2 ELSE 1 END,"
            "        CASE r.element WHEN 'B' THEN 0 ELSE 3 * n END"
            "   FROM generate_series(0, %(n)s) AS n, wattline.meter_registers r"
            "  WHERE r.meter_id = %(meter)s",
            {"start": start, "n": minutes, "meter": meter},
        )
        conn.execute("SELECT wattline.merge_register_readings()")


def test_a_25_hour_local_day_settles_into_300_five_minute_periods(conn):
    # Europe/London 2024-10-27 runs from 2024-10-26 23:00 UTC to 2024-10-28 00:00 UTC.
    start = datetime(2024, 10, 26, 23, 0, tzinfo=UTC)
    end = datetime(2024, 10, 28, 0, 0, tzinfo=UTC)
    _load_minutely(conn, LONDON_METER, start - timedelta(minutes=1), 25 * 60 + 1)
    written = settle_window(conn, start, end, SettlementConfig(5), LONDON_METER)
    assert written == 300
    rows = conn.execute(
        "SELECT count(*), min(period_start), max(period_end), sum(import_wh), sum(export_wh),"
        " min(net_wh), max(net_wh), string_agg(DISTINCT status, ',')"
        " FROM wattline.settlement_periods WHERE meter_id = %s",
        [LONDON_METER],
    ).fetchone()
    # 1500 minutes: 1500 Wh imported, 4500 Wh exported; each period nets 5 x 2 = 10 Wh (IDLE).
    assert rows == (300, start, end, 1500, 4500, 10, 10, "IDLE")
    # Running it again changes nothing.
    assert settle_window(conn, start, end, SettlementConfig(5), LONDON_METER) == 300
    assert conn.execute("SELECT count(*) FROM wattline.settlement_periods").fetchone() == (300,)


def test_polars_settlement_equals_the_sql_rollup(conn):
    start = datetime(2024, 5, 1, 10, 3, tzinfo=UTC)
    _load_minutely(conn, UTC_METER, start, 180)
    settle_window(conn, start, start + timedelta(hours=4), SettlementConfig(5), UTC_METER)
    rollups.refresh(conn, ["meter_energy_5m"])
    differing = conn.execute(
        """
        WITH polars AS (
            SELECT period_start AS bucket, import_wh, export_wh
              FROM wattline.settlement_periods WHERE meter_id = %(m)s),
        sql AS (
            SELECT bucket, sum(import_wh) AS import_wh, sum(export_wh) AS export_wh
              FROM wattline.meter_energy_5m WHERE meter_id = %(m)s GROUP BY bucket)
        SELECT count(*) FROM ((TABLE polars EXCEPT TABLE sql) UNION ALL
                              (TABLE sql EXCEPT TABLE polars)) d
        """,
        {"m": UTC_METER},
    ).fetchone()[0]
    assert differing == 0
    # 180 minutes: elements A + B import 3 Wh a minute, export 3 Wh a minute.
    totals = conn.execute(
        "SELECT sum(import_wh), sum(export_wh), sum(net_wh) FROM wattline.settlement_periods"
    ).fetchone()
    assert totals == (540, 540, 0)


def test_the_incremental_pass_recomputes_what_arrived_late(conn):
    start = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    _load_minutely(conn, UTC_METER, start, 9)  # 10:00 .. 10:09
    config = SettlementConfig(5)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    now = datetime(2024, 5, 1, 10, 10, tzinfo=UTC)
    written, mark = settle_new(conn, epoch, now, config)
    assert written == 2  # 10:00 and 10:05
    assert settle_new(conn, mark, now, config)[0] == 0  # nothing new
    # A late reading at 10:10 of element A: +5 import over 10:09.
    with conn.transaction():
        conn.execute("SELECT wattline.create_staging()")
        conn.execute(
            "INSERT INTO pg_temp.stage_register_readings"
            " (time, register_id, meter_id, element, import_wh, export_wh)"
            " SELECT '2024-05-01 10:10+00', register_id, meter_id, element, 1014, 30"
            " FROM wattline.meter_registers WHERE meter_id = %s AND element = 'A'",
            [UTC_METER],
        )
        conn.execute("SELECT wattline.merge_register_readings()")
    written, _ = settle_new(conn, mark, now + timedelta(minutes=5), config)
    assert written == 1
    period = conn.execute(
        "SELECT import_wh, export_wh FROM wattline.settlement_periods"
        " WHERE period_start = '2024-05-01 10:10+00'"
    ).fetchone()
    assert period == (5, 3)  # 1014 - 1009 and 30 - 27


def test_the_jobs_pass_keeps_a_watermark_and_settles_everything_received(conn):
    _load_minutely(conn, UTC_METER, datetime(2024, 5, 1, 10, 0, tzinfo=UTC), 9)
    assert settle_pass(conn, SettlementConfig(5)) == 2
    mark = conn.execute(
        "SELECT upto FROM wattline_admin.job_watermarks WHERE job = 'settlement'"
    ).fetchone()[0]
    assert mark is not None
    # 10:00 period: readings 10:00..10:04 (the first has no predecessor): 4 x (1 + 2) Wh import
    periods = conn.execute(
        "SELECT period_start, import_wh, export_wh FROM wattline.settlement_periods"
        " ORDER BY period_start"
    ).fetchall()
    assert [(p[1], p[2]) for p in periods] == [(12, 12), (15, 15)]
