"""Alerts: rules over the fleet's current state (sql/queries/alerts.sql), kept as open and
resolved rows in `wattline.alerts`, and posted to an optional webhook.

`evaluate` runs every rule in one transaction: it opens an alert for each subject a rule holds
for and has none open, and resolves the open ones whose condition has cleared. After the commit
each opened or resolved alert is POSTed as JSON to WATTLINE_ALERT_WEBHOOK_URL, tried a few
times with a doubling pause, then kept in `wattline.alert_dead_letters`. `wattline alerts` runs
one evaluation; every `wattline jobs` pass runs one too (analytics/jobs.py).
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import psycopg
from psycopg.rows import dict_row, tuple_row
from psycopg.types.json import Jsonb

from analytics.completeness import completeness_report
from ingest.ocpp.handlers import HEARTBEAT_INTERVAL_S
from sql import queries
from wattline.settings import Settings

log = logging.getLogger(__name__)

SQL_RULES = (
    "low_balance",
    "days_to_empty",
    "meter_offline",
    "charger_offline",
    "charger_faulted",
)
RULES = (*SQL_RULES, "low_completeness")

# Environment variable -> the wattline.setting() the rule SQL reads (set for the transaction).
# The Settings field of each variable.
THRESHOLD_FIELDS = {
    "WATTLINE_ALERT_LOW_BALANCE": "alert_low_balance",
    "WATTLINE_ALERT_DAYS_TO_EMPTY": "alert_days_to_empty",
    "WATTLINE_ALERT_OFFLINE_MINUTES": "alert_offline_minutes",
    "WATTLINE_ALERT_HEARTBEAT_MISSES": "alert_heartbeat_misses",
}
THRESHOLD_SETTINGS = {
    "WATTLINE_ALERT_LOW_BALANCE": "low_balance_threshold",
    "WATTLINE_ALERT_DAYS_TO_EMPTY": "alert_days_to_empty",
    "WATTLINE_ALERT_OFFLINE_MINUTES": "offline_after_minutes",
    "WATTLINE_ALERT_HEARTBEAT_MISSES": "alert_heartbeat_misses",
}


@dataclass(frozen=True)
class AlertConfig:
    thresholds: Mapping[str, str]  # wattline.setting name -> value, only those given
    completeness_pct: float = 90.0
    completeness_window_h: float = 1.0
    expected_interval_s: int = 60
    webhook_url: str | None = None
    webhook_attempts: int = 4
    webhook_backoff_s: float = 1.0
    webhook_timeout_s: float = 5.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertConfig:
        """From the one settings object (wattline.settings), which checked every value."""
        s = Settings.from_env(env)
        thresholds = {
            setting: str(value)
            for var, setting in THRESHOLD_SETTINGS.items()
            if (value := getattr(s, THRESHOLD_FIELDS[var])) is not None
        }
        return cls(
            thresholds=thresholds,
            completeness_pct=s.alert_completeness_pct,
            completeness_window_h=s.alert_completeness_window_h,
            expected_interval_s=s.expected_interval_s,
            webhook_url=s.alert_webhook_url.get_secret_value() if s.alert_webhook_url else None,
            webhook_attempts=s.alert_webhook_attempts,
            webhook_backoff_s=s.alert_webhook_backoff_s,
        )


@dataclass(frozen=True)
class Outcome:
    opened: int
    resolved: int
    open_now: int
    delivered: int
    dead_lettered: int


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def low_completeness(conn: psycopg.Connection, config: AlertConfig) -> list[dict[str, Any]]:
    """Meters that sent something in the last window but less than the threshold of what the
    expected interval asks for: the completeness report's own figure, over the window. A meter
    that sent nothing is offline, which its own rule reports. Connectors are left out: they send
    meter values only while charging, so an idle hour is not a gap."""
    with conn.cursor(row_factory=tuple_row) as cur:
        hi = cur.execute("SELECT now()").fetchone()[0]
    window = timedelta(hours=config.completeness_window_h)
    report = completeness_report(conn, hi - window, hi, config.expected_interval_s)
    # Expected over the whole window (the report's per-day rows each round down on their own).
    expected = int(window.total_seconds()) // config.expected_interval_s
    per_device = (
        report.filter(pl.col("device_kind") == "meter")
        .group_by("device_kind", "device")
        .agg(pl.col("received").sum())
        .filter(pl.col("received") > 0)
        .with_columns(pct=(pl.col("received") / expected * 100).round(1))
        .filter(pl.col("pct") < config.completeness_pct)
        .sort("device_kind", "device")
    )
    return [
        {
            "subject_kind": row["device_kind"],
            "subject_id": row["device"],
            "severity": "warning",
            "details": {
                "completeness_pct": row["pct"],
                "received": row["received"],
                "expected": expected,
                "window_hours": config.completeness_window_h,
                "threshold_pct": config.completeness_pct,
            },
        }
        for row in per_device.iter_rows(named=True)
    ]


def evaluate(
    conn: psycopg.Connection,
    config: AlertConfig,
    post: Callable[[str, bytes, float], None] | None = None,
) -> Outcome:
    """One evaluation of every rule; returns what changed. ``conn`` may be in autocommit mode:
    the rules and their changes run in one transaction of their own."""
    events: list[dict[str, Any]] = []
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT set_config('wattline.heartbeat_interval_s', %s, true)",
            (str(HEARTBEAT_INTERVAL_S),),
        )
        for setting, value in config.thresholds.items():
            cur.execute("SELECT set_config(%s, %s, true)", (f"wattline.{setting}", value))
        for rule in RULES:
            if rule == "low_completeness":
                current = low_completeness(conn, config)
            else:
                current = cur.execute(queries.get(f"alert_rule_{rule}")).fetchall()
            payload = json.dumps(current, default=_json_default)
            params = {"rule": rule, "current": payload}
            events += cur.execute(queries.get("alert_upsert"), params).fetchall()
            events += cur.execute(queries.get("alert_resolve"), params).fetchall()
        open_now = cur.execute(
            "SELECT count(*) AS n FROM wattline.alerts WHERE resolved_at IS NULL"
        ).fetchone()["n"]
    for event in events:
        log.warning(
            "alert %s: %s %s %s (%s)",
            event["event"],
            event["rule"],
            event["subject_kind"],
            event["subject_id"],
            event["severity"],
        )
    delivered = dead = 0
    if config.webhook_url:
        # Once one event failed every attempt, the receiver is taken to be down for the rest of
        # this pass: the others go straight to dead letters, so a dead receiver costs a pass one
        # event's retries, not every event's.
        down: str | None = None
        for event in events:
            if down is None:
                tries, error = post_with_retries(config, event, post or http_post)
                if error is None:
                    delivered += 1
                    continue
                down = error
            else:
                tries, error = 0, f"not tried: an earlier event of this pass failed ({down})"
            dead_letter(conn, event, tries, error)
            dead += 1
    opened = sum(e["event"] == "opened" for e in events)
    return Outcome(opened, len(events) - opened, open_now, delivered, dead)


def webhook_body(event: Mapping[str, Any]) -> dict[str, Any]:
    alert = {
        k: event[k]
        for k in (
            "id",
            "rule",
            "subject_kind",
            "subject_id",
            "severity",
            "opened_at",
            "resolved_at",
            "details",
        )
    }
    return {"event": event["event"], "alert": alert}


def http_post(url: str, body: bytes, timeout_s: float) -> None:
    """POST JSON; anything but a 2xx answer raises."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "wattline-alerts"},
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        response.read()


def post_with_retries(
    config: AlertConfig,
    event: Mapping[str, Any],
    post: Callable[[str, bytes, float], None],
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, str | None]:
    """Posts one event, tried ``webhook_attempts`` times with pauses of backoff, 2x, 4x ...;
    returns the attempts made and the last error (None: delivered)."""
    data = json.dumps(webhook_body(event), default=_json_default).encode()
    error = ""
    for attempt in range(1, config.webhook_attempts + 1):
        try:
            post(config.webhook_url or "", data, config.webhook_timeout_s)
            return attempt, None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # (URLError and HTTPError are OSErrors.) The URL may carry a token: log the
            # error, never the URL.
            error = _describe(exc)
            log.warning(
                "alert webhook attempt %d/%d failed: %s", attempt, config.webhook_attempts, error
            )
        if attempt < config.webhook_attempts:
            sleep(config.webhook_backoff_s * 2 ** (attempt - 1))
    return config.webhook_attempts, error


def dead_letter(conn: psycopg.Connection, event: Mapping[str, Any], tries: int, error: str) -> None:
    body = json.loads(json.dumps(webhook_body(event), default=_json_default))
    conn.execute(
        queries.get("alert_dead_letter"),
        {
            "alert_id": event["id"],
            "event": event["event"],
            "payload": Jsonb(body),
            "attempts": tries,
            "last_error": error,
        },
    )
    if not conn.autocommit:
        conn.commit()
    log.error(
        "alert webhook: %s %s kept in alert_dead_letters (%s)", event["event"], event["id"], error
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{type(exc.reason).__name__}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def open_alerts(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(queries.get("alerts_open")).fetchall()
