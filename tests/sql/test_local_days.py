"""Local-day energy (0034) and the rollups' `time` views (0035), in both storage profiles, with
every figure computed by hand from tests/sql/local_days.sql."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest

from sql import db, rollups
from sql.migrate import MIGRATION_DIR, migrate
from sql.queries import parse

DATA = parse((Path(__file__).parent / "local_days.sql").read_text(), "local_days.sql")
METER = "00000000-0000-0000-0000-0000000000c1"
CONNECTOR_DAYS = """SELECT local_date, time, timezone, energy_wh, register_wh, readings
                      FROM connector_energy_local_daily WHERE charge_point_id = %s
                     ORDER BY local_date"""
METER_DAYS = """SELECT local_date, time, timezone, import_wh, export_wh, import_register_wh,
                       readings
                  FROM meter_energy_local_daily WHERE meter_id = %s ORDER BY local_date"""


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def load(conn: psycopg.Connection) -> None:
    for name in ("devices", "readings"):
        conn.execute(DATA[name].text)


@pytest.fixture
def loaded(tuple_conn):
    # The session zone is pinned to neither UTC nor the site's zone: nothing may depend on it.
    tuple_conn.execute("SET TIME ZONE 'America/New_York'")
    tuple_conn.execute("SET search_path = wattline, public")
    load(tuple_conn)
    rollups.refresh(tuple_conn)
    return tuple_conn


def test_readings_from_18_30_utc_count_in_the_next_indian_day(loaded):
    # CP-IN keeps timezone 'UTC' (never set), so it counts in the site's default, Asia/Kolkata.
    # IST 1 March: 17:50 (first reading, adds 0), 18:10 (+400), 18:29 (+300) = 700 Wh.
    # IST 2 March from 18:30 UTC: +50, 18:45 +250, 19:00 +600, 2 March 18:20 +1000 = 1900 Wh.
    # IST 3 March from 2 March 18:30 UTC: 18:40 +100 = 100 Wh.
    kolkata = "Asia/Kolkata"
    assert loaded.execute(CONNECTOR_DAYS, ["CP-IN"]).fetchall() == [
        (date(2026, 3, 1), utc("2026-02-28 18:30"), kolkata, 700, 1700, 3),
        (date(2026, 3, 2), utc("2026-03-01 18:30"), kolkata, 1900, 3600, 4),
        (date(2026, 3, 3), utc("2026-03-02 18:30"), kolkata, 100, 3700, 1),
    ]
    # The UTC days split the same readings elsewhere: 0+400+300+50+250+600 and 1000+100.
    utc_days = loaded.execute(
        "SELECT bucket, energy_wh FROM connector_energy_daily WHERE charge_point_id = 'CP-IN'"
        " ORDER BY bucket"
    ).fetchall()
    assert utc_days == [(utc("2026-03-01 00:00"), 1600), (utc("2026-03-02 00:00"), 1100)]


def test_hourly_buckets_would_put_half_an_hour_in_the_wrong_indian_day(loaded):
    # Why the view sums 15-minute buckets: the 18:00 UTC hour holds 18:10 (+400), 18:29
    # (+300), 18:30 (+50) and 18:45 (+250), 1000 Wh across IST midnight, of which 700 belong
    # to 1 March.
    hour = loaded.execute(
        "SELECT energy_wh FROM connector_energy_hourly"
        " WHERE charge_point_id = 'CP-IN' AND bucket = '2026-03-01 18:00+00'"
    ).fetchone()
    assert hour == (1000,)
    quarters = loaded.execute(
        "SELECT bucket, energy_wh FROM connector_energy_15m"
        " WHERE charge_point_id = 'CP-IN' AND bucket >= '2026-03-01 18:00+00'"
        "   AND bucket < '2026-03-01 19:00+00' ORDER BY bucket"
    ).fetchall()
    assert quarters == [
        (utc("2026-03-01 18:00"), 400),  # 18:10
        (utc("2026-03-01 18:15"), 300),  # 18:29, the last IST quarter of 1 March
        (utc("2026-03-01 18:30"), 50),  # 18:30 = 00:00 IST 2 March
        (utc("2026-03-01 18:45"), 250),  # 18:45
    ]


def test_the_window_functions_return_the_days_that_start_in_the_window(loaded):
    # [18:30 UTC 1 March, 18:30 UTC 2 March) holds the start of IST 2 March (CP-IN, 1900 Wh)
    # but not Kathmandu's 2 March, which starts at 18:15; the meter's IST 2 March (200 Wh).
    window = ["2026-03-01 18:30+00", "2026-03-02 18:30+00"]
    assert loaded.execute(
        "SELECT charge_point_id, local_date, energy_wh, readings"
        " FROM connector_energy_local_days(%s, %s) ORDER BY 1",
        window,
    ).fetchall() == [("CP-IN", date(2026, 3, 2), 1900, 4)]
    assert loaded.execute(
        "SELECT local_date, import_wh, export_wh FROM meter_energy_local_days(%s, %s)", window
    ).fetchall() == [(date(2026, 3, 2), 200, 40)]


def test_a_charge_point_with_its_own_zone_counts_in_it_to_the_quarter_hour(loaded):
    # CP-NP is in Asia/Kathmandu, UTC+05:45: midnight is 18:15 UTC. 18:10 adds 0 (first),
    # 18:14 +100 on 1 March; 18:15 +50 and 18:50 +250 on 2 March.
    kathmandu = "Asia/Kathmandu"
    assert loaded.execute(CONNECTOR_DAYS, ["CP-NP"]).fetchall() == [
        (date(2026, 3, 1), utc("2026-02-28 18:15"), kathmandu, 100, 600, 2),
        (date(2026, 3, 2), utc("2026-03-01 18:15"), kathmandu, 300, 900, 2),
    ]


def test_a_day_that_changes_to_summer_time_has_23_hours(loaded):
    # Berlin's 29 March runs from 23:00 UTC on 28 March (CET) to 22:00 UTC on 29 March (CEST).
    # 23:05 (first, adds 0), 23:10 (+100) and 21:55 (+200) are on it; 22:05 (+300) is 30 March.
    berlin = "Europe/Berlin"
    assert loaded.execute(CONNECTOR_DAYS, ["CP-DE"]).fetchall() == [
        (date(2026, 3, 29), utc("2026-03-28 23:00"), berlin, 300, 400, 3),
        (date(2026, 3, 30), utc("2026-03-29 22:00"), berlin, 300, 700, 1),
    ]


def test_meters_count_in_local_days_too(loaded):
    # 17:55 (first, adds 0) and 18:25 (+300 import) are IST 1 March; 18:35 (+200 import,
    # +40 export) is IST 2 March.
    assert loaded.execute(METER_DAYS, [METER]).fetchall() == [
        (date(2026, 3, 1), utc("2026-02-28 18:30"), "Asia/Kolkata", 300, 0, 5300, 2),
        (date(2026, 3, 2), utc("2026-03-01 18:30"), "Asia/Kolkata", 200, 40, 5500, 1),
    ]


def test_the_site_zone_setting_moves_devices_that_have_none(loaded):
    # With wattline.site_tz = Etc/UTC, CP-IN's days are UTC days (as connector_energy_daily),
    # while CP-NP keeps its own zone.
    loaded.execute("SET wattline.site_tz = 'Etc/UTC'")
    assert loaded.execute(CONNECTOR_DAYS, ["CP-IN"]).fetchall() == [
        (date(2026, 3, 1), utc("2026-03-01 00:00"), "Etc/UTC", 1600, 2600, 6),
        (date(2026, 3, 2), utc("2026-03-02 00:00"), "Etc/UTC", 1100, 3700, 2),
    ]
    assert loaded.execute(CONNECTOR_DAYS, ["CP-NP"]).fetchall()[0][2] == "Asia/Kathmandu"


def test_each_time_view_has_time_equal_to_the_bucket_and_the_same_rows(loaded):
    names = rollups.rollup_names(loaded)
    assert "connector_energy_15m" in names
    for name in names:
        view = f"{name}_time"
        assert loaded.execute(f"SELECT count(*) FROM {view}").fetchone()[0] > 0, view
        columns = ", ".join(c.name for c in loaded.execute(f"SELECT * FROM {name}").description)
        assert loaded.execute(f"SELECT * FROM {view} LIMIT 0").description[0].name == "time"
        differing = loaded.execute(
            f"SELECT count(*) FROM ((SELECT * FROM {name} EXCEPT SELECT {columns} FROM {view})"
            f" UNION ALL (SELECT {columns} FROM {view} EXCEPT SELECT * FROM {name})"
            f" UNION ALL (SELECT {columns} FROM {view} WHERE time IS DISTINCT FROM bucket)) AS d"
        )
        assert differing.fetchone()[0] == 0, view
    # By hand: the 18:00 UTC hour of CP-IN holds 1000 Wh (see above).
    assert loaded.execute(
        "SELECT time, energy_wh FROM connector_energy_hourly_time"
        " WHERE charge_point_id = 'CP-IN' AND time = '2026-03-01 18:00+00'"
    ).fetchall() == [(utc("2026-03-01 18:00"), 1000)]


def _as_reader(url: str) -> psycopg.Connection:
    params = psycopg.conninfo.conninfo_to_dict(url)
    params["user"] = "wattline_reader"
    return psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True)


def test_the_reader_role_reads_every_new_view(db_url, loaded):
    # Even on a hardened server without EXECUTE for PUBLIC: the views call local_zone as the
    # reader, so grants.sql grants it by name.
    loaded.execute("REVOKE EXECUTE ON FUNCTION local_zone(text) FROM PUBLIC")
    with _as_reader(db_url) as reader:
        names = [f"{n}_time" for n in rollups.rollup_names(loaded)]
        local = ["connector_energy_local_daily", "meter_energy_local_daily"]
        local += ["connector_energy_local_days('-infinity', 'infinity')"]
        local += ["meter_energy_local_days('2026-02-28', '2026-03-03')"]
        for name in [*names, *local]:
            assert reader.execute(f"SELECT count(*) FROM {name}").fetchone()[0] > 0, name
        assert reader.execute("SELECT local_zone('UTC')").fetchone() == ("Asia/Kolkata",)


def test_a_rollup_added_by_a_later_migration_covers_rows_stored_before(
    tmp_path, storage_profile, db_server
):
    # A database migrated up to 0033 holds the readings; migrating on creates
    # connector_energy_15m over them. On TimescaleDB `wattline migrate` refreshes the new
    # continuous aggregate in full: its policy covers only the last 7 days, and these readings
    # are older, so without that they would never be materialised (checked with real-time
    # aggregation off). On PostgreSQL the rollup's first refresh covers them.
    older = tmp_path / "older"
    older.mkdir()
    for path in MIGRATION_DIR.glob("*.sql"):
        if int(path.name[:4]) < 34:
            shutil.copy(path, older / path.name)
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    url = db_server.database_url(name)
    try:
        migrate(url, storage_profile, directory=older)
        with psycopg.connect(db.with_session_options(url), autocommit=True) as conn:
            conn.execute("SET search_path = wattline, public")
            conn.execute(DATA["devices"].text)
            conn.execute(DATA["readings"].text)
        migrate(url, storage_profile)
        with psycopg.connect(db.with_session_options(url), autocommit=True) as conn:
            conn.execute("SET search_path = wattline, public")
            if storage_profile == "timescale":
                conn.execute(
                    "ALTER MATERIALIZED VIEW connector_energy_15m"
                    " SET (timescaledb.materialized_only = true)"
                )
            else:
                rollups.refresh(conn)
            total = conn.execute(
                "SELECT sum(energy_wh) FROM connector_energy_local_daily"
                " WHERE charge_point_id = 'CP-IN'"
            ).fetchone()
        assert total == (2700,)  # 3700 - 1000: every reading after the first
    finally:
        db_server.drop(name)
