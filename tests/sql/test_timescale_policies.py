"""TimescaleDB's policies do their work: compression, retention and continuous aggregate refresh
jobs run with `CALL run_job(id)` and their effect checked, and once through the real scheduler."""

from __future__ import annotations

import pytest
from timescale_jobs import job_id, run_job, scheduled_run

pytestmark = pytest.mark.profiles("timescale")

METER = "00000000-0000-0000-0000-0000000000f1"
REGISTER = "00000000-0000-0000-0000-0000000000f2"


def _chunks(conn, table: str) -> list[tuple]:
    """(days before today the chunk starts, compressed?) per chunk, oldest first."""
    return conn.execute(
        "SELECT (current_date - range_start::date), is_compressed"
        "  FROM timescaledb_information.chunks WHERE hypertable_name = %s ORDER BY range_start",
        [table],
    ).fetchall()


def _frames(conn, *ages_days: int) -> None:
    for age in ages_days:
        conn.execute(
            "INSERT INTO ocpp_messages (time, charge_point_id, direction, message_type)"
            " VALUES (now() - make_interval(days => %s), 'CP-R', 'in', 2)",
            [age],
        )


def test_the_compression_job_compresses_chunks_past_seven_days_and_keeps_every_reading(
    tuple_conn,
):
    # One reading an hour for the last 10 days: chunks are days, compressed after 7 days.
    tuple_conn.execute(
        "INSERT INTO meter_values (time, charge_point_id, connector_id, unit, value)"
        " SELECT date_trunc('day', now()) - interval '10 days' + n * interval '1 hour',"
        "        'CP-Z', 1, 'Wh', 1000 + 10 * n FROM generate_series(0, 239) n"
    )
    before = tuple_conn.execute("SELECT count(*), sum(value) FROM meter_values").fetchone()
    run_job(tuple_conn, job_id(tuple_conn, "policy_compression", "meter_values"))
    chunks = _chunks(tuple_conn, "meter_values")
    # Chunks starting 10, 9 and 8 days ago end at least 7 days ago: compressed. The chunk of 7
    # days ago ends 6 days ago and the younger ones are newer still.
    assert chunks == [(10, True), (9, True), (8, True)] + [(d, False) for d in range(7, 0, -1)]
    # 240 readings, 1000 .. 3390: sum 240 * 1000 + 10 * (239 * 240 / 2).
    assert before == (240, 240 * 1000 + 10 * 28680)
    assert tuple_conn.execute("SELECT count(*), sum(value) FROM meter_values").fetchone() == before


def test_the_retention_job_drops_chunks_past_thirty_days(tuple_conn):
    _frames(tuple_conn, 45, 31, 29, 1)
    run_job(tuple_conn, job_id(tuple_conn, "policy_retention", "ocpp_messages"))
    ages = [
        r[0]
        for r in tuple_conn.execute(
            "SELECT extract(day FROM now() - time)::int FROM ocpp_messages ORDER BY time"
        )
    ]
    assert ages == [29, 1]
    assert [c[0] for c in _chunks(tuple_conn, "ocpp_messages")] == [29, 1]


def test_the_refresh_job_materializes_the_continuous_aggregate(tuple_conn):
    # Readings two days ago, inside meter_energy_hourly's refresh window (7 days to 1 hour ago).
    tuple_conn.execute("INSERT INTO meter_registry (id, serial) VALUES (%s, 'EMLREFRESH')", [METER])
    tuple_conn.execute(
        "INSERT INTO meter_registers (register_id, meter_id, element) VALUES (%s, %s, 'SINGLE')",
        [REGISTER, METER],
    )
    tuple_conn.execute(
        "INSERT INTO register_readings (time, register_id, meter_id, element, import_wh,"
        " delta_import_wh, delta_export_wh)"
        " SELECT date_trunc('hour', now()) - interval '2 days' + n * interval '15 minutes',"
        "        %s, %s, 'SINGLE', 100 * n, CASE WHEN n = 0 THEN 0 ELSE 100 END, 0"
        "   FROM generate_series(0, 7) n",
        [REGISTER, METER],
    )
    table = tuple_conn.execute(
        "SELECT format('%I.%I', materialization_hypertable_schema,"
        " materialization_hypertable_name) FROM timescaledb_information.continuous_aggregates"
        " WHERE view_name = 'meter_energy_hourly'"
    ).fetchone()[0]
    assert tuple_conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    run_job(tuple_conn, job_id(tuple_conn, "policy_refresh_continuous_aggregate",
                               "meter_energy_hourly"))  # fmt: skip
    assert tuple_conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)
    # Readings at :00 .. :45 of two hours: 0 + 3 * 100 Wh, then 4 * 100 Wh.
    assert tuple_conn.execute(
        "SELECT array_agg(import_wh ORDER BY bucket) FROM meter_energy_hourly"
    ).fetchone() == ([300, 400],)


def test_the_scheduler_runs_a_policy_by_itself(tuple_conn):
    # The database is a copy of the test template, whose jobs are unscheduled; this schedules
    # the retention of ocpp_messages again and waits for TimescaleDB's scheduler to run it.
    _frames(tuple_conn, 40, 2)
    status = scheduled_run(tuple_conn, job_id(tuple_conn, "policy_retention", "ocpp_messages"))
    assert status == "Success"
    ages = [
        r[0]
        for r in tuple_conn.execute("SELECT extract(day FROM now() - time)::int FROM ocpp_messages")
    ]
    assert ages == [2]
