"""The timescale profile as migrated on the real TimescaleDB cluster: hypertables, continuous
aggregates, their policies and the reader role's grants on them."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from test_migrate import ROLLUPS, SERIES
from timescale_jobs import job_id, run_job

from sql.migrate import MigrationError, migrate, migrations

pytestmark = pytest.mark.profiles("timescale")


def test_migrating_again_changes_nothing(db_url):
    lines: list[str] = []
    again = migrate(db_url, log=lines.append)
    assert again.profile == "timescale"
    # The database's extension is the server's version: no ALTER EXTENSION ... UPDATE.
    assert not [line for line in lines if "timescaledb extension" in line]
    assert again.applied == []
    assert again.already_applied == len(migrations())


def test_a_database_whose_timescaledb_library_is_gone_is_updated_first(db_url, tuple_conn):
    # As after a server upgrade that removed the old library: the database says 2.28.2, which
    # this server has no library for, so nothing but ALTER EXTENSION ... UPDATE can run there.
    # Its update script then refuses, because the catalog really is 2.28.3: the refusal shows
    # the update was issued, and migrate reports it in one line instead of a traceback.
    tuple_conn.execute(
        "UPDATE pg_extension SET extversion = '2.28.2' WHERE extname = 'timescaledb'"
    )
    with pytest.raises(MigrationError) as refused:
        migrate(db_url)
    assert str(refused.value) == (
        "ALTER EXTENSION timescaledb UPDATE failed: catalog version mismatch"
        ' (current extension version is "2.28.2" but catalog version is "2.28.3")'
    )


def test_the_extension_is_the_version_setup_installed(tuple_conn):
    row = tuple_conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    assert row == ("2.28.3",)


def test_every_series_is_a_hypertable_with_its_chunk_interval(tuple_conn):
    found = dict(
        tuple_conn.execute(
            "SELECT hypertable_name, time_interval FROM timescaledb_information.dimensions"
            " WHERE hypertable_schema = 'wattline'"
        ).fetchall()
    )
    assert set(found) == SERIES
    assert str(found["meter_values"]) == "1 day, 0:00:00"
    assert str(found["status_notifications"]) == "30 days, 0:00:00"


def test_rollups_are_real_time_continuous_aggregates(tuple_conn):
    found = dict(
        tuple_conn.execute(
            "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
            " WHERE view_schema = 'wattline'"
        ).fetchall()
    )
    assert found == {name: False for name in ROLLUPS}


def test_policies_refresh_compress_and_retain(tuple_conn):
    jobs = tuple_conn.execute(
        "SELECT proc_name, coalesce(hypertable_name, ''), config::text"
        " FROM timescaledb_information.jobs WHERE hypertable_schema IS NOT NULL"
    ).fetchall()
    refresh = [j for j in jobs if j[0] == "policy_refresh_continuous_aggregate"]
    assert len(refresh) == len(ROLLUPS)
    compressed = {j[1] for j in jobs if j[0] == "policy_compression"}
    assert compressed == SERIES
    retention = {j[1]: j[2] for j in jobs if j[0] == "policy_retention"}
    assert set(retention) == {"ocpp_messages", "ingest_rejects"}
    assert '"drop_after": "30 days"' in retention["ocpp_messages"]


def test_compression_segments_by_device(tuple_conn):
    segment_by = dict(
        tuple_conn.execute(
            "SELECT hypertable_name, string_agg(attname, ',' ORDER BY segmentby_column_index)"
            " FROM timescaledb_information.compression_settings"
            " WHERE hypertable_schema = 'wattline' AND segmentby_column_index IS NOT NULL"
            " GROUP BY 1"
        ).fetchall()
    )
    assert segment_by["meter_values"] == "charge_point_id,connector_id"
    assert segment_by["register_readings"] == "register_id"
    assert segment_by["meter_prepay_balance"] == "meter_id"


def _as_reader(url: str) -> psycopg.Connection:
    params = psycopg.conninfo.conninfo_to_dict(url)
    params["user"] = "wattline_reader"
    return psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True)


def test_the_reader_reads_compressed_chunks_and_aggregates_but_writes_nowhere(tuple_conn, db_url):
    # Three days of hourly balances, 40 days old: past the balance series' 30-day compression.
    tuple_conn.execute(
        "INSERT INTO meter_registry (id, serial) VALUES ('00000000-0000-0000-0000-0000000000d1',"
        " 'EMLREADER')"
    )
    tuple_conn.execute(
        "INSERT INTO meter_prepay_balance (time, meter_id, balance)"
        " SELECT date_trunc('day', now()) - interval '40 days' + n * interval '1 hour',"
        "        '00000000-0000-0000-0000-0000000000d1', 100 - n"
        "   FROM generate_series(0, 71) n"
    )
    run_job(tuple_conn, job_id(tuple_conn, "policy_compression", "meter_prepay_balance"))
    compressed = tuple_conn.execute(
        "SELECT count(*) FILTER (WHERE is_compressed), count(*) FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'meter_prepay_balance'"
    ).fetchone()
    assert compressed[0] == compressed[1] >= 1
    chunk = tuple_conn.execute(
        "SELECT format('%I.%I', chunk_schema, chunk_name) FROM timescaledb_information.chunks"
        " WHERE hypertable_name = 'meter_prepay_balance' LIMIT 1"
    ).fetchone()[0]
    tuple_conn.execute(
        "CALL refresh_continuous_aggregate('wattline.prepay_balance_daily', NULL, NULL)"
    )
    with _as_reader(db_url) as reader:
        # 72 balances 100 .. 29: three days of 24, minima 77, 53, 29.
        assert reader.execute(
            "SELECT count(*), min(balance), max(balance) FROM meter_prepay_balance"
        ).fetchone() == (72, 29, 100)
        assert [r[0] for r in reader.execute(
            "SELECT min_balance FROM prepay_balance_daily ORDER BY bucket"
        )] == [77, 53, 29]  # fmt: skip
        reader.execute("SET default_transaction_read_only = off")
        for target in ("wattline.meter_prepay_balance", chunk):
            with pytest.raises(errors.InsufficientPrivilege):
                reader.execute(
                    f"INSERT INTO {target} (time, meter_id, balance)"
                    " VALUES (now(), '00000000-0000-0000-0000-0000000000d1', 1)"
                )
        with pytest.raises(errors.InsufficientPrivilege):
            reader.execute("CALL refresh_continuous_aggregate('prepay_balance_daily', NULL, NULL)")


def test_a_write_outside_the_writer_bumps_the_writer_slots_of_a_hypertable(tuple_conn):
    # Statement triggers (0011) on a hypertable: what tells writers their cache is stale.
    tuple_conn.execute(
        "INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit, value)"
        " VALUES ('2024-05-01T10:00Z', 'CP-T', 1, 'Wh', 100)"
    )
    tuple_conn.execute("DELETE FROM wattline.meter_values WHERE charge_point_id = 'CP-T'")
    slots = tuple_conn.execute(
        "SELECT target, count(*), min(version), max(version), count(writer)"
        "  FROM wattline_admin.writer_slots GROUP BY 1 ORDER BY 1"
    ).fetchall()
    # Two statements, each bumping all 64 meter_values slots; register_readings untouched.
    assert slots == [("meter_values", 64, 2, 2, 0), ("register_readings", 64, 0, 0, 0)]


def test_the_database_has_no_scheduler_work_left_from_the_template(tuple_conn):
    # Test databases are copies of a template whose jobs are unscheduled: a scheduler that
    # found one would compress or drop a test's old rows under it.
    scheduled = tuple_conn.execute(
        "SELECT count(*) FROM timescaledb_information.jobs WHERE scheduled"
    ).fetchone()
    assert scheduled == (0,)
