"""`wattline jobs` and `wattline status`."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from databases import create_database

from analytics import jobs
from sql import db


@pytest.mark.profiles("postgres")
def test_a_jobs_pass_refreshes_rollups_and_applies_retention(db_url):
    now = datetime.now(UTC)
    with db.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.meter_registry (id, serial)"
            " VALUES ('00000000-0000-0000-0000-00000000000c', 'EML9')"
        )
        conn.execute(
            "INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance)"
            " VALUES ('2024-05-01 10:00+00', '00000000-0000-0000-0000-00000000000c', 20),"
            "        ('2024-05-01 18:00+00', '00000000-0000-0000-0000-00000000000c', 12.5)"
        )
        # Frames 31 days old are past the 30-day retention of ocpp_messages; 29 days are not.
        for age_days in (31, 29):
            conn.execute(
                "INSERT INTO wattline.ocpp_messages (time, charge_point_id, direction,"
                " message_type) VALUES (%s, 'CP-1', 'in', 2)",
                [now - timedelta(days=age_days)],
            )
        # A future tariff that came due while its meter was silent, and one still ahead.
        conn.execute(
            "INSERT INTO wattline.meter_shadows (id, tariffs_active, tariffs_future) VALUES"
            " ('00000000-0000-0000-0000-00000000000c', '{\"unit_rate_element_a\": 0.28}',"
            "  jsonb_build_object('unit_rate_element_a', 0.30, 'activation_datetime', %s::text))",
            [(now - timedelta(minutes=1)).isoformat()],
        )
        done = jobs.run_once(conn)
        assert done["tariffs promoted"] == 1
        shadow = conn.execute("SELECT tariffs_active, tariffs_future FROM meter_shadows").fetchone()
        assert shadow["tariffs_active"]["unit_rate_element_a"] == 0.30
        assert shadow["tariffs_future"] is None
        assert done["refresh prepay_balance_daily"] == 1
        assert done["retention rows deleted"] == 1
        row = conn.execute(
            "SELECT min_balance, max_balance, last_balance, readings FROM prepay_balance_daily"
        ).fetchone()
        assert (row["min_balance"], row["max_balance"], row["last_balance"]) == (12.5, 20, 12.5)
        assert row["readings"] == 2
        assert conn.execute("SELECT count(*) AS n FROM ocpp_messages").fetchone()["n"] == 1
        # Nothing changed since: a second pass refreshes nothing.
        assert jobs.run_once(conn)["refresh prepay_balance_daily"] == 0


def _wattline(*args: str, database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wattline.cli", *args],
        env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_then_status_shows_the_profile_and_every_relation(empty_db_url):
    migrated = _wattline("migrate", database_url=empty_db_url)
    assert migrated.returncode == 0, migrated.stderr
    assert "created database" in migrated.stdout
    assert "postgres profile" in migrated.stdout
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO wattline.charge_points (id) VALUES ('CP-1'), ('CP-2')")
    status = _wattline("status", database_url=empty_db_url)
    assert status.returncode == 0, status.stderr
    lines = {line.split()[0]: line.split() for line in status.stdout.splitlines()[1:]}
    assert lines["charge_points"][-2:] == ["2", "rows"]
    assert lines["meter_values"][1:3] == ["series", "table"]
    assert lines["meter_energy_hourly"][1:3] == ["rollup", "table"]


def test_status_on_a_database_that_was_never_migrated_says_so(empty_db_url):
    create_database(db.database_name(empty_db_url))
    status = _wattline("status", database_url=empty_db_url)
    assert status.returncode == 2
    assert "Traceback" not in status.stderr
    assert "has not been migrated: run `wattline migrate`" in status.stderr


@pytest.mark.timescale
def test_status_in_the_timescale_profile_shows_chunks_compression_and_jobs(empty_timescale_url):
    migrated = _wattline("migrate", database_url=empty_timescale_url)
    assert "timescale profile" in migrated.stdout, migrated.stderr
    with psycopg.connect(db.with_session_options(empty_timescale_url), autocommit=True) as conn:
        # 3 days of 1-minute values, 20 to 17 days old: three day chunks past compression.
        conn.execute(
            "INSERT INTO meter_values (time, charge_point_id, connector_id, unit, value)"
            " SELECT date_trunc('day', now()) - interval '20 days' + n * interval '1 minute',"
            "        'CP-' || n % 10, 1, 'Wh', n FROM generate_series(0, 3 * 1440 - 1) n"
        )
        conn.execute(
            "SELECT compress_chunk(c) FROM show_chunks('meter_values', older_than => interval"
            " '7 days') c"
        )
    status = _wattline("status", database_url=empty_timescale_url)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    chunks = next(line.split() for line in lines if line.split()[:1] == ["meter_values"]
                  and "chunks" in line)  # fmt: skip
    assert chunks[1:5] == ["3", "chunks", "3", "compressed"]
    assert chunks[5].endswith("x")  # the compression ratio, before / after
    jobs = [line.split() for line in lines if "policy_" in line]
    # Compression per series (security_events, 0019, the ninth), refresh per rollup (the
    # seventh: connector_energy_15m, 0034), and the retentions of ocpp_messages, ingest_rejects
    # and security_events.
    assert len(jobs) == 9 + 7 + 3
    compression = next(j for j in jobs if j[1:3] == ["policy_compression", "meter_values"])
    assert compression[3:5] == ["every", "12h"]
