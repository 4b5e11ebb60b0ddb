"""Migration 0015 was applied on some databases and then reverted in the code: the runner knows it
as retired, 0016 puts back 0011's 64 writer slots where it ran, and a version the code does not
know at all is refused with a message that says what to do."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from ingest.writer import Batch, Writer
from sql import db
from sql.migrate import MIGRATION_DIR, MigrationError, migrate, migrations

# The text of 0015 as committed in 8d69f55 (the file is gone from sql/migrations/).
RETIRED_0015 = Path(__file__).parent / "data" / "0015_writer_slots_fine.sql"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)

SLOTS = "SELECT target, count(*), min(slot), max(slot) FROM wattline_admin.writer_slots GROUP BY 1"


def _until_0014(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for m in migrations():
        if m.version <= 14:
            shutil.copy(m.path, directory)
    return directory


def _apply_0015_as_8d69f55_did(url: str) -> None:
    text = RETIRED_0015.read_text()
    with db.connect(url) as conn:
        conn.execute(text)
        conn.execute(
            "INSERT INTO wattline_admin.schema_migrations (version, name, checksum)"
            " VALUES (15, 'writer_slots_fine', %s)",
            [hashlib.sha256(text.encode()).hexdigest()],
        )


def _body_in_0011() -> str:
    text = (MIGRATION_DIR / "0011_writer_slots.sql").read_text()
    return text.split("AS $$", 1)[1].split("$$;", 1)[0]


def _energy(minute: int, wh: int) -> tuple:
    return (T0 + timedelta(minutes=minute), T0, "CP-R", 1, None,
            "Energy.Active.Import.Register", "", "Outlet", "Sample.Periodic", "Wh",
            Decimal(wh), "ok")  # fmt: skip


async def _write(writer: Writer, minute: int, wh: int) -> None:
    batch = Batch()
    batch.add("meter_values", _energy(minute, wh))
    await writer.write(batch)


async def test_0016_puts_back_the_64_writer_slots_on_a_database_that_ran_0015(
    empty_db_url, tmp_path
):
    first = migrate(empty_db_url, "postgres", directory=_until_0014(tmp_path))
    assert first.applied[-1] == "0014_latest_main_register.sql"
    _apply_0015_as_8d69f55_did(empty_db_url)
    with db.connect(empty_db_url) as conn:
        assert conn.execute(SLOTS + " ORDER BY 1").fetchall() == [
            {"target": "meter_values", "count": 65536, "min": 0, "max": 65535},
            {"target": "register_readings", "count": 65536, "min": 0, "max": 65535},
        ]
        function = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = 'writer_slots_touched'")
        assert "writer_epochs" in function.fetchone()["prosrc"]

    result = migrate(empty_db_url)
    assert result.applied[0] == "0016_retire_writer_slots_fine.sql"  # then any later ones
    assert migrate(empty_db_url).applied == []  # 0015's record stays; nothing runs twice

    with db.connect(empty_db_url, autocommit=True) as conn:
        assert conn.execute(SLOTS + " ORDER BY 1").fetchall() == [
            {"target": "meter_values", "count": 64, "min": 0, "max": 63},
            {"target": "register_readings", "count": 64, "min": 0, "max": 63},
        ]
        epochs = conn.execute("SELECT to_regclass('wattline_admin.writer_epochs') AS t")
        assert epochs.fetchone() == {"t": None}
        versions = conn.execute(
            "SELECT count(*) FILTER (WHERE writer IS NULL) AS unowned, min(version), max(version)"
            "  FROM wattline_admin.writer_slots"
        ).fetchone()
        # Every slot bumped once by 0016, so no writer trusts what it remembers from before.
        assert versions == {"unowned": 128, "min": 1, "max": 1}
        function = conn.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'writer_slots_touched'"
        ).fetchone()
        assert function["prosrc"] == _body_in_0011()
        triggers = conn.execute(
            "SELECT c.relname, t.tgfoid::regproc::text AS function FROM pg_trigger t"
            "  JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname = 'wattline_writer_slots' ORDER BY 1"
        ).fetchall()
        assert triggers == [
            {"relname": "meter_values", "function": "wattline_admin.writer_slots_touched"},
            {"relname": "register_readings", "function": "wattline_admin.writer_slots_touched"},
        ]
        recorded = conn.execute(
            "SELECT version FROM wattline_admin.schema_migrations"
            " WHERE version BETWEEN 14 AND 16 ORDER BY 1"
        ).fetchall()
        assert [r["version"] for r in recorded] == [14, 15, 16]

    # The writer works as 0011 designed it: a reading typed in by hand between two of its
    # batches bumps the 64 slots, so the writer's next delta is from that reading.
    writer = Writer(empty_db_url)
    await writer.start()
    await _write(writer, 0, 1000)
    await _write(writer, 1, 1100)
    with psycopg.connect(db.with_session_options(empty_db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, unit, value,"
            " delta) VALUES (%s, 'CP-R', 1, 'Wh', 1450, 350)",
            [T0 + timedelta(minutes=2)],
        )
        bumped = conn.execute(
            "SELECT count(*) FROM wattline_admin.writer_slots"
            " WHERE target = 'meter_values' AND writer IS NULL AND version >= 2"
        ).fetchone()
        assert bumped == (64,)
    await _write(writer, 3, 1500)
    await writer.stop()
    with psycopg.connect(db.with_session_options(empty_db_url)) as conn:
        deltas = conn.execute(
            "SELECT value, delta FROM wattline.meter_values WHERE charge_point_id = 'CP-R'"
            " ORDER BY time"
        ).fetchall()
    # 1100 - 1000 = 100, 1450 typed in, 1500 - 1450 = 50 (not 1500 - 1100 = 400)
    assert deltas == [(1000, 0), (1100, 100), (1450, 350), (1500, 50)]


def test_0016_changes_nothing_where_0015_never_ran(conn):
    slots = conn.execute(
        "SELECT count(*) AS n, max(slot) AS top, max(version) AS version, count(writer) AS owned"
        "  FROM wattline_admin.writer_slots"
    ).fetchone()
    assert slots == {"n": 128, "top": 63, "version": 0, "owned": 0}  # as 0011 left them
    recorded = conn.execute(
        "SELECT version FROM wattline_admin.schema_migrations WHERE version IN (15, 16)"
    )
    assert [r["version"] for r in recorded] == [16]


def test_a_recorded_version_missing_on_disk_is_refused_with_what_to_do(db_url):
    with db.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO wattline_admin.schema_migrations (version, name, checksum)"
            " VALUES (99, 'from_the_future', 'x')"
        )
    newest = migrations()[-1].path.name
    with pytest.raises(MigrationError) as refused:
        migrate(db_url)
    assert str(refused.value) == (
        "refusing to migrate: this database records migration 0099_from_the_future as applied,"
        f" and this version of wattline does not have it (newest here: {newest}); run the"
        " wattline version that applied it, or restore the database from before it; do not"
        " delete its row from wattline_admin.schema_migrations, the schema still holds what it"
        " did"
    )


def test_a_retired_version_cannot_come_back_as_a_file(tmp_path):
    shutil.copy(MIGRATION_DIR / "0001_charging.sql", tmp_path)
    shutil.copy(RETIRED_0015, tmp_path)
    with pytest.raises(MigrationError, match="0015_writer_slots_fine.sql: version 15 is retired"):
        migrations(tmp_path)
