"""Backups as README "Backups" says to take and restore them: pg_dump of a migrated database
holding data, deploy/db-restore into a fresh database (on timescale between
timescaledb_pre_restore() and timescaledb_post_restore()), and every report equal: the session
report, each rollup, the settlement periods, the alerts and every relation's row count. Then the
restored database keeps working: migrate finds nothing to do, the reader reads, and a new
reading reaches the rollups."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from analytics import jobs, session_report_job
from sql import db, inventory, rollups
from sql.migrate import migrate

ROOT = Path(__file__).parents[2]
SEED = (ROOT / "tests/dashboard/seed.sql").read_text()
EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
SOLAR_REGISTER = "00000000-0000-0000-0000-0000000000f3"
SOLAR = "00000000-0000-0000-0000-0000000000e3"


def _rows(conn: psycopg.Connection, sql: str) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql).fetchall()


def reports(url: str) -> dict[str, object]:
    with db.connect(url, autocommit=True) as conn:
        out: dict[str, object] = {
            "session report": session_report_job.sessions(conn, *EVER).to_dicts(),
            "session_report view": _rows(
                conn, "SELECT * FROM wattline.session_report ORDER BY transaction_id"
            ),
            "settlement": _rows(
                conn, "SELECT * FROM wattline.settlement_periods ORDER BY meter_id, period_start"
            ),
            "alerts": _rows(conn, "SELECT * FROM wattline.alerts ORDER BY id"),
            "relations": [(r.name, r.kind, r.rows) for r in inventory.relations(conn)],
        }
        for name in rollups.rollup_names(conn):
            out[name] = _rows(conn, f"SELECT * FROM wattline.{name} ORDER BY 1, 2, 3")
    return out


@pytest.fixture
def restored_url(db_server) -> str:
    name = f"wattline_test_{uuid.uuid4().hex[:12]}"
    db_server.create(name)
    yield db_server.database_url(name)
    db_server.drop(name)


def _dump_and_restore(db_url: str, restored_url: str, tmp_path: Path) -> str:
    dump = tmp_path / "wattline.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), db_url], check=True)
    result = subprocess.run(
        [str(ROOT / "deploy/db-restore"), str(dump), restored_url],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "restored into" in result.stdout
    return result.stdout


def test_dump_and_restore_give_equal_reports(db_url, restored_url, storage_profile, tmp_path):
    with db.connect(db_url, autocommit=True) as conn:
        conn.execute(SEED)
        rollups.refresh(conn)
        done = jobs.run_once(conn)  # settlement periods and alerts, as a deployment has them
    assert done["settlement periods written"] > 0 and done["alerts opened"] == 5
    before = reports(db_url)
    assert len(before["session report"]) == 2
    assert before["relations"] and any(r[2] for r in before["relations"])

    out = _dump_and_restore(db_url, restored_url, tmp_path)
    assert ("timescaledb_pre_restore()" in out) == (storage_profile == "timescale")

    after = reports(restored_url)
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], key

    # The restored database is a working one.
    again = migrate(restored_url, storage_profile)
    assert (again.profile, again.applied) == (storage_profile, [])
    params = psycopg.conninfo.conninfo_to_dict(restored_url) | {"user": "wattline_reader"}
    with psycopg.connect(psycopg.conninfo.make_conninfo(**params)) as reader:
        assert reader.execute("SELECT count(*) FROM wattline.meters_low_balance").fetchone() == (1,)
    with db.connect(restored_url, autocommit=True) as conn:
        if storage_profile == "timescale":
            assert conn.execute("SHOW timescaledb.restoring").fetchone() == {
                "timescaledb.restoring": "off"
            }
        hour = conn.execute(
            "SELECT sum(export_wh) AS wh FROM wattline.meter_energy_hourly WHERE meter_id = %s",
            (SOLAR,),
        ).fetchone()["wh"]
        # One more reading, 100 Wh exported since the last (50000 Wh at now()).
        conn.execute(
            "INSERT INTO wattline.register_readings (time, register_id, meter_id, element, "
            "import_wh, export_wh, delta_import_wh, delta_export_wh) "
            "VALUES (now() + INTERVAL '1 second', %s, %s, 'SINGLE', 1000, 50100, 0, 100)",
            (SOLAR_REGISTER, SOLAR),
        )
        rollups.refresh(conn)
        assert conn.execute(
            "SELECT sum(export_wh) AS wh FROM wattline.meter_energy_hourly WHERE meter_id = %s",
            (SOLAR,),
        ).fetchone()["wh"] == hour + Decimal(100)


@pytest.mark.profiles("timescale")
def test_restore_into_a_database_that_has_timescaledb_in_public(db_url, restored_url, tmp_path):
    """The TimescaleDB image installs the extension into template1, so `createdb` gives a
    database holding it in schema public; the dump has it in schema wattline."""
    with db.connect(db_url, autocommit=True) as conn:
        conn.execute(SEED)
        rollups.refresh(conn)
    with db.connect(restored_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION timescaledb SCHEMA public")
    before = reports(db_url)
    _dump_and_restore(db_url, restored_url, tmp_path)
    assert reports(restored_url) == before
    with db.connect(restored_url, autocommit=True) as conn:
        assert conn.execute(
            "SELECT extnamespace::regnamespace::text AS schema FROM pg_extension"
            " WHERE extname = 'timescaledb'"
        ).fetchone() == {"schema": "wattline"}
