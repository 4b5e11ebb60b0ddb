"""`wattline migrate` on the real PostgreSQL server (postgres profile)."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
from psycopg import errors

from sql import db
from sql.migrate import MIGRATION_DIR, MigrationError, migrate, migrations

SERIES = {
    "meter_values",
    "status_notifications",
    "ocpp_messages",
    "register_readings",
    "meter_prepay_balance",
    "meter_health",
    "meter_event_log",
    "ingest_rejects",
    "security_events",
}
# Series the reader sees only through redacting views (0019), and those views.
READER_HIDDEN = {"ocpp_messages"}
REDACTED_VIEWS = {"ocpp_log", "command_log"}
ROLLUPS = {
    "connector_energy_hourly",
    "connector_energy_daily",
    "connector_energy_15m",
    "meter_energy_5m",
    "meter_energy_hourly",
    "meter_energy_daily",
    "prepay_balance_daily",
}
TABLES = {
    "charge_points",
    "connectors",
    "id_tags",
    "vehicles",
    "tariffs",
    "transactions",
    "commands",
    "meter_registry",
    "meter_registers",
    "meter_shadows",
    "settlement_periods",
}

SCHEMA_SNAPSHOT = """
SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname IN ('wattline', 'wattline_admin')
 ORDER BY 1, 3
"""


def test_migration_files_are_well_named_and_numbered_once(tmp_path):
    found = migrations()
    assert [m.version for m in found] == sorted({m.version for m in found})
    assert len(found) == len(list(MIGRATION_DIR.glob("*.sql")))
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0001_b.sql").write_text("")
    with pytest.raises(MigrationError, match="version 1 is used twice"):
        migrations(tmp_path)
    (tmp_path / "0001_b.sql").unlink()
    (tmp_path / "2_Bad Name.sql").write_text("")
    with pytest.raises(MigrationError, match="named NNNN_lower_snake.sql"):
        migrations(tmp_path)


def test_migrate_creates_the_database_and_a_second_run_changes_nothing(empty_db_url):
    first = migrate(empty_db_url, "postgres")
    assert first.created_database
    assert first.profile == "postgres"
    assert first.applied == [m.path.name for m in migrations()]
    with db.connect(empty_db_url) as conn:
        before = conn.execute(SCHEMA_SNAPSHOT).fetchall()

    second = migrate(empty_db_url)
    assert (second.created_database, second.applied) == (False, [])
    assert second.already_applied == len(migrations())
    assert second.profile == "postgres"  # remembered, not detected again
    with db.connect(empty_db_url) as conn:
        assert conn.execute(SCHEMA_SNAPSHOT).fetchall() == before
        applied = conn.execute("SELECT count(*) AS n FROM wattline_admin.schema_migrations")
        assert applied.fetchone()["n"] == len(migrations())


def test_the_whole_data_model_is_there(conn, storage_profile):
    names = {
        r["relname"]
        for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'wattline' AND c.relkind IN ('r', 'v', 'm')"
        )
    }
    assert SERIES | ROLLUPS | TABLES <= names
    series = {
        r["relation"] for r in conn.execute("SELECT relation::text FROM wattline_admin.series")
    }
    assert series == SERIES  # regclass prints unqualified: wattline is on the search path
    # The postgres profile puts a BRIN index on every series' time column; TimescaleDB's chunks
    # are the time index there.
    brin = conn.execute(
        "SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'wattline'"
        " AND indexdef LIKE '%USING brin (\"time\")%'"
    ).fetchone()["n"]
    assert brin == (len(SERIES) if storage_profile == "postgres" else 0)


def _timescaledb_files_installed(url: str) -> bool:
    with psycopg.connect(db.maintenance_dsn(url)) as conn:
        return bool(
            conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
            ).fetchone()
        )


def _why_the_main_server_has_no_timescaledb(url: str) -> str:
    # scripts/setup installs the extension into the local PostgreSQL 15 but preloads it only in
    # the cluster on port 5433: this server lists it and cannot create it.
    if _timescaledb_files_installed(url):
        return "timescaledb is installed but not in shared_preload_libraries"
    return "the timescaledb extension is not installed on this server"


def test_forcing_timescale_where_it_is_missing_is_a_clear_error(empty_db_url):
    why = _why_the_main_server_has_no_timescaledb(empty_db_url)
    with pytest.raises(
        MigrationError, match="WATTLINE_STORAGE=timescale, but CREATE EXTENSION"
    ) as e:
        migrate(empty_db_url, "timescale")
    assert why in str(e.value)


def test_detecting_where_timescaledb_is_not_preloaded_falls_back_to_postgres_in_one_line(
    empty_db_url,
):
    lines: list[str] = []
    result = migrate(empty_db_url, log=lines.append)
    assert result.profile == "postgres"
    said = [line for line in lines if line.startswith("TimescaleDB not used: ")]
    assert len(said) == 1
    assert _why_the_main_server_has_no_timescaledb(empty_db_url) in said[0]
    # The connection survived the check: every migration was applied.
    assert result.applied == [m.path.name for m in migrations()]


@pytest.mark.timescale
def test_detecting_where_timescaledb_is_preloaded_chooses_timescale(empty_timescale_url):
    lines: list[str] = []
    result = migrate(empty_timescale_url, log=lines.append)
    assert result.profile == "timescale"
    assert not [line for line in lines if line.startswith("TimescaleDB not used")]


def test_the_cli_reports_errors_in_one_line_not_a_traceback(empty_db_url):
    run = subprocess.run(
        [sys.executable, "-m", "wattline.cli", "migrate"],
        env={"DATABASE_URL": empty_db_url, "WATTLINE_STORAGE": "timescale", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "install TimescaleDB or use WATTLINE_STORAGE=postgres" in run.stderr


def test_an_unknown_profile_name_is_refused(empty_db_url):
    with pytest.raises(MigrationError, match="'mongo' is not a storage profile"):
        migrate(empty_db_url, "mongo")


def test_a_database_keeps_the_profile_it_was_built_with(db_url, storage_profile):
    other = "timescale" if storage_profile == "postgres" else "postgres"
    with pytest.raises(MigrationError, match=f"built with the '{storage_profile}' storage profile"):
        migrate(db_url, other)


def test_an_applied_migration_that_was_edited_is_refused(db_url):
    with db.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE wattline_admin.schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(MigrationError, match="0001_charging.sql changed after it was applied"):
        migrate(db_url)


def _as_reader(db_url: str) -> psycopg.Connection:
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    params["user"] = "wattline_reader"
    return psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True)


def test_the_reader_role_reads_rollups_and_views_but_cannot_write(db_url):
    with _as_reader(db_url) as reader:
        for name in sorted(ROLLUPS | (SERIES - READER_HIDDEN) | REDACTED_VIEWS):
            reader.execute(f"SELECT * FROM {name} LIMIT 1")  # search_path is set for the role
        for name in sorted(READER_HIDDEN | {"commands", "id_tags"}):
            with pytest.raises(errors.InsufficientPrivilege):
                reader.execute(f"SELECT * FROM {name} LIMIT 1")
        with pytest.raises(errors.ReadOnlySqlTransaction):
            reader.execute("INSERT INTO wattline.tariffs (id, energy_rate) VALUES ('free', 0)")
        # Even with the read-only default switched off, the grants refuse the write.
        reader.execute("SET default_transaction_read_only = off")
        with pytest.raises(errors.InsufficientPrivilege):
            reader.execute("INSERT INTO wattline.tariffs (id, energy_rate) VALUES ('free', 0)")
        with pytest.raises(errors.InsufficientPrivilege):
            reader.execute("SELECT password_hash FROM wattline.charge_points")
        assert reader.execute("SELECT count(id) FROM wattline.charge_points").fetchone() == (0,)
        with pytest.raises(errors.InsufficientPrivilege):
            reader.execute("SELECT * FROM wattline_admin.schema_migrations")
        # The profile's time_bucket and last() are for reporting tools too.
        reader.execute(
            "SELECT time_bucket('1 day', time), last(balance, time)"
            " FROM meter_prepay_balance GROUP BY 1"
        )


def test_the_reader_role_plans_every_read_with_its_values(db_url):
    # A pool or BI tool re-running a prepared read must not fall back to a generic plan that
    # cannot see which charge point or range it reads (sql/grants.sql): after seven runs, the
    # plan still names the charge point and the range's values.
    with db.connect(db_url, autocommit=True) as owner:  # a chunk to plan for, on TimescaleDB
        owner.execute(
            "INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit, value)"
            " VALUES ('2026-01-10', 'CP-PLAN', 1, 'Wh', 10),"
            " ('2026-01-10', 'CP-OTHER', 1, 'Wh', 20)"
        )
    with _as_reader(db_url) as reader:
        assert reader.execute("SHOW plan_cache_mode").fetchone() == ("force_custom_plan",)
        reader.execute(
            "PREPARE one_charger(text, timestamptz, timestamptz) AS"
            " SELECT time, value FROM meter_values"
            " WHERE charge_point_id = $1 AND time >= $2 AND time < $3"
        )
        for _ in range(7):
            reader.execute("EXECUTE one_charger('CP-PLAN', '2026-01-01', '2026-01-31')")
        plan = "\n".join(
            row[0]
            for row in reader.execute(
                "EXPLAIN EXECUTE one_charger('CP-PLAN', '2026-01-01', '2026-01-31')"
            )
        )
        assert "CP-PLAN" in plan and "$1" not in plan, plan
