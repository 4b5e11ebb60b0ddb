"""The timescale profile on a real TimescaleDB build (tests/timescale_server)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from test_migrate import ROLLUPS, SERIES

from sql import db
from sql.migrate import migrate, migrations

pytestmark = pytest.mark.timescale


def _rows(dsn: str, query: str) -> list[tuple]:
    # One connection at a time: the test server serves no more.
    with psycopg.connect(db.with_session_options(dsn), autocommit=True) as conn:
        return conn.execute(query).fetchall()


def test_migrating_again_changes_nothing(timescale_url):
    again = migrate(timescale_url)
    assert again.profile == "timescale"
    assert again.applied == []
    assert again.already_applied == len(migrations())


def test_every_series_is_a_hypertable_with_its_chunk_interval(timescale_url):
    found = dict(
        _rows(
            timescale_url,
            "SELECT hypertable_name, time_interval FROM timescaledb_information.dimensions"
            " WHERE hypertable_schema = 'wattline'",
        )
    )
    assert set(found) == SERIES
    assert str(found["meter_values"]) == "1 day, 0:00:00"
    assert str(found["status_notifications"]) == "30 days, 0:00:00"


def test_rollups_are_real_time_continuous_aggregates(timescale_url):
    found = dict(
        _rows(
            timescale_url,
            "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
            " WHERE view_schema = 'wattline'",
        )
    )
    assert found == {name: False for name in ROLLUPS}


def test_policies_refresh_compress_and_retain(timescale_url):
    jobs = _rows(
        timescale_url,
        "SELECT proc_name, coalesce(hypertable_name, ''), config::text"
        " FROM timescaledb_information.jobs WHERE hypertable_schema IS NOT NULL",
    )
    refresh = [j for j in jobs if j[0] == "policy_refresh_continuous_aggregate"]
    assert len(refresh) == len(ROLLUPS)
    compressed = {j[1] for j in jobs if j[0] == "policy_compression"}
    assert compressed == SERIES
    retention = {j[1]: j[2] for j in jobs if j[0] == "policy_retention"}
    assert set(retention) == {"ocpp_messages", "ingest_rejects", "security_events"}
    assert '"drop_after": "30 days"' in retention["ocpp_messages"]


def test_compression_segments_by_device(timescale_url):
    segment_by = dict(
        _rows(
            timescale_url,
            "SELECT hypertable_name, string_agg(attname, ',' ORDER BY segmentby_column_index)"
            " FROM timescaledb_information.compression_settings"
            " WHERE hypertable_schema = 'wattline' AND segmentby_column_index IS NOT NULL"
            " GROUP BY 1",
        )
    )
    assert segment_by["meter_values"] == "charge_point_id,connector_id"
    assert segment_by["register_readings"] == "register_id"
    assert segment_by["meter_prepay_balance"] == "meter_id"


def test_the_reader_role_can_read_a_continuous_aggregate_but_not_write(timescale_url):
    # The test server accepts any user name as postgres, so the role is taken with SET ROLE.
    with psycopg.connect(db.with_session_options(timescale_url), autocommit=True) as conn:
        conn.execute("SET ROLE wattline_reader")
        assert conn.execute("SELECT count(*) FROM wattline.meter_energy_hourly").fetchone() == (0,)
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("INSERT INTO wattline.tariffs (id, energy_rate) VALUES ('free', 0)")


def test_a_write_outside_the_writer_bumps_the_writer_slots_of_a_hypertable(timescale_url):
    # Statement triggers (0011) on a hypertable: what tells writers their cache is stale.
    with psycopg.connect(db.with_session_options(timescale_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit, value)"
            " VALUES ('2024-05-01T10:00Z', 'CP-T', 1, 'Wh', 100)"
        )
        conn.execute("DELETE FROM wattline.meter_values WHERE charge_point_id = 'CP-T'")
        slots = conn.execute(
            "SELECT target, count(*), min(version), max(version), count(writer)"
            "  FROM wattline_admin.writer_slots GROUP BY 1 ORDER BY 1"
        ).fetchall()
    # Two statements, each bumping all 64 meter_values slots; register_readings untouched.
    assert slots == [("meter_values", 64, 2, 2, 0), ("register_readings", 64, 0, 0, 0)]
