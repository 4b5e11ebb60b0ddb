"""TimescaleDB jobs in tests: find a policy's job, run it now, or let the scheduler run it."""

from __future__ import annotations

import time

import psycopg


def job_id(conn: psycopg.Connection, proc: str, relation: str) -> int:
    """The job of ``proc`` (policy_compression, policy_retention,
    policy_refresh_continuous_aggregate) on a hypertable or continuous aggregate."""
    row = conn.execute(
        "SELECT j.job_id FROM timescaledb_information.jobs j"
        "  LEFT JOIN timescaledb_information.continuous_aggregates c"
        "    ON c.materialization_hypertable_name = j.hypertable_name"
        " WHERE j.proc_name = %s AND %s IN (j.hypertable_name, c.view_name)",
        [proc, relation],
    ).fetchone()
    assert row, f"no {proc} job on {relation}"
    return row[0]


def run_job(conn: psycopg.Connection, job: int) -> None:
    conn.execute("CALL run_job(%s)", [job])


def scheduled_run(conn: psycopg.Connection, job: int, timeout_s: float = 90.0) -> str:
    """Start this database's scheduler, schedule ``job`` to start now and wait until the
    scheduler has finished a run of it; returns the run's status. (Restarting the scheduler
    after scheduling the job could kill the run it had just started.)"""
    stats = (
        "SELECT coalesce(max(total_runs), 0), max(last_run_status)"
        "  FROM timescaledb_information.job_stats WHERE job_id = %s AND job_status <> 'Running'"
    )
    # The template's scheduler may have run it once before the job was unscheduled.
    runs_before = conn.execute(stats, [job]).fetchone()[0]
    conn.execute("SELECT _timescaledb_functions.restart_background_workers()")
    conn.execute("SELECT alter_job(%s, scheduled => true, next_start => now())", [job])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs, status = conn.execute(stats, [job]).fetchone()
        if runs > runs_before:
            if status != "Success":
                errors = conn.execute(
                    "SELECT err_message FROM timescaledb_information.job_errors WHERE job_id = %s",
                    [job],
                ).fetchall()
                status += f" ({errors[-1][0] if errors else 'no error recorded'})"
            return status
        time.sleep(0.5)
    raise AssertionError(f"the scheduler did not run job {job} within {timeout_s:g} s")
