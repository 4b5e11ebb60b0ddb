"""`wattline jobs`: periodic work that keeps derived data current.

Rollup refresh and retention in the postgres profile (TimescaleDB's own policies do both in the
timescale profile), promoting future meter tariffs whose activation time has come, also for
meters that have gone quiet, sweeping operator commands no central system will finish
(ingest/ocpp/commands.py), and evaluating the alert rules (analytics/alerts.py). Every step is
idempotent, so a crash or an overlap repeats work but never corrupts results.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import psycopg
from psycopg.rows import tuple_row

from analytics import alerts
from analytics.settlement import SettlementConfig
from analytics.settlement_job import settle_pass
from ingest.ocpp.commands import sweep_params
from ingest.ocpp.config import OcppConfig
from sql import queries, rollups
from wattline.observe import metrics, rollup_lag

log = logging.getLogger(__name__)


def run_once(
    conn: psycopg.Connection, settlement: SettlementConfig | None = None
) -> dict[str, int]:
    """One pass; returns what each step did. ``conn`` must be in autocommit mode."""
    done: dict[str, int] = {}
    step = metrics.JOB_SECONDS.labels  # each step's duration, for /metrics
    with step("settlement").time():
        done["settlement periods written"] = settle_pass(conn, settlement or SettlementConfig())
    with step("tariffs").time():
        promoted = conn.execute(queries.get("promote_due_tariffs"), {"meter_id": None})
    done["tariffs promoted"] = promoted.rowcount
    ocpp = OcppConfig.from_env()
    with step("commands").time(), conn.cursor(row_factory=tuple_row) as cur:
        swept = cur.execute(
            queries.get("sweep_commands"),
            sweep_params(ocpp.command_timeout_s, ocpp.command_expiry_s),
        ).fetchone()
    done["commands timed out (sender gone)"], done["commands expired"] = swept
    if rollups.storage_profile(conn) == "postgres":
        with step("refresh").time():
            for name, windows in rollups.refresh(conn).items():
                done[f"refresh {name}"] = windows
        with step("retention").time(), conn.cursor(row_factory=tuple_row) as cur:
            done["retention rows deleted"] = cur.execute(
                "SELECT wattline_admin.apply_retention()"
            ).fetchone()[0]
    # Last, so the rules see this pass's settlement, tariffs and rollups.
    with step("alerts").time():
        outcome = alerts.evaluate(conn, alerts.AlertConfig.from_env())
    done["alerts opened"], done["alerts resolved"] = outcome.opened, outcome.resolved
    return done


def run_forever(
    connect: Callable[[], psycopg.Connection],
    interval_s: float,
    settlement: SettlementConfig | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Run passes every ``interval_s``; a failed pass is logged and retried on the next tick,
    with a fresh connection in case the database went away."""
    while not should_stop():
        started = time.monotonic()
        try:
            with connect() as conn:
                log.info("jobs pass: %s", run_once(conn, settlement))
                metrics.job_pass(ok=True)
                _export_rollup_lag(conn)
        except psycopg.Error as exc:
            metrics.job_pass(ok=False)
            log.error("jobs pass failed, retrying in %.0f s: %s", interval_s, exc)
        time.sleep(max(0.0, interval_s - (time.monotonic() - started)))


def _export_rollup_lag(conn: psycopg.Connection) -> None:
    """For /metrics; a failure here is not the pass's (it has committed its work)."""
    try:
        rollup_lag.update(conn)
    except psycopg.Error as exc:
        log.warning("could not read the rollup lag: %s", exc)
