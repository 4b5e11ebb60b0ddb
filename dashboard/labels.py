"""How tables look on the pages: human column names with units, times in the site's time zone
(WATTLINE_SITE_TZ) with the zone in the header, and "–" for a missing value. The data stay
as the queries return them; only the copy a page shows is relabelled (downloads keep the raw,
machine-readable names)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from wattline.settings import Settings

MISSING = "–"

# Raw column -> label, in one place for every page. Units in brackets; time columns get the
# zone added by ``label`` ("Started (Asia/Kolkata)"). Money is in the row's currency column.
LABELS: dict[str, str] = {
    # charge points and connectors
    "charge_point_id": "Charge point",
    "connected": "Connected",
    "vendor": "Vendor",
    "model": "Model",
    "site": "Site",
    "registration_status": "Registration",
    "last_seen_at": "Last seen",
    "sessions": "Sessions",
    "last_stop_at": "Last session stopped",
    "last_error_code": "Last error",
    "last_error_at": "Last error at",
    "connector_id": "Connector",
    "status": "Status",
    "error_code": "Error",
    "status_at": "Status since",
    "meter_kwh": "Meter register (kWh)",
    "meter_at": "Meter read",
    "meter_age": "Meter reading age",
    "freshness": "Meter freshness",
    "charger_transaction_id": "Charger's transaction id",
    "station_transaction_id": "Station's transaction id",
    "energy_since_start_kwh": "Session energy (kWh)",
    "estimated_cost": "Session cost so far",
    # sessions
    "transaction_id": "Session",
    "id_tag": "Id tag",
    "started_at": "Started",
    "stopped_at": "Stopped",
    "stop_reason": "Stop reason",
    "duration": "Duration",
    "energy_kwh": "Energy (kWh)",
    "end_source": "Stop reading from",
    "currency": "Currency",
    "cost": "Cost",
    "tax": "Tax",
    "total": "Total with tax",
    "time_of_use": "Time-of-use bands",
    "soc_change_pct": "SOC change (%)",
    "range_added_km": "Range added (km)",
    "average_kw": "Average power (kW)",
    "efficiency_pct": "Efficiency (%)",
    "power_kw": "Power (kW)",
    # OCPP log and commands
    "time": "Time",
    "direction": "Direction",
    "message_type": "Message type",
    "action": "Action",
    "message_id": "Message id",
    "payload": "Payload",
    "requested_by": "Requested by",
    "requested_at": "Requested",
    "answered_at": "Answered",
    "response": "Response",
    "error": "Error",
    # meters
    "meter_id": "Meter id",
    "serial": "Meter",
    "name": "Name",
    "kind": "Kind",
    "timezone": "Time zone",
    "balance": "Balance",
    "emergency_credit": "Emergency credit",
    "balance_updated_at": "Balance updated",
    "threshold": "Low-balance threshold",
    "last_online": "Last online",
    "offline_for": "Offline for",
    "csq": "Signal (CSQ)",
    "poor_signal": "Poor signal (CSQ < 10)",
    "clock_drift_s": "Clock drift (s)",
    "drift_flagged": "Clock drift > 60 s",
    "voltage": "Supply (V)",
    "health": "Health",
    "last_reading_at": "Last reading",
    "reading_freshness": "Reading freshness",
    "active_standing_charge": "Standing charge per day (active)",
    "active_unit_rate_a": "Unit rate A per kWh (active)",
    "active_unit_rate_b": "Unit rate B per kWh (active)",
    "active_emergency_credit": "Emergency credit (active)",
    "future_standing_charge": "Standing charge per day (future)",
    "future_unit_rate_a": "Unit rate A per kWh (future)",
    "future_unit_rate_b": "Unit rate B per kWh (future)",
    "future_activation_datetime": "Future tariff from",
    "min_balance": "Lowest balance",
    "max_balance": "Highest balance",
    "last_balance": "Closing balance",
    "last_emergency_credit": "Closing emergency credit",
    "readings": "Readings",
    "import_kwh": "Import (kWh)",
    "export_kwh": "Export (kWh)",
    # completeness
    "device_kind": "Device kind",
    "device": "Device",
    "expected": "Samples expected",
    "received": "Samples received",
    "missing": "Samples missing",
    "completeness_pct": "Completeness (%)",
    # alerts
    "rule": "Rule",
    "subject_kind": "Subject kind",
    "subject_id": "Subject",
    "severity": "Severity",
    "opened_at": "Opened",
    "resolved_at": "Resolved",
    "details": "Details",
    "alert_id": "Alert",
    "event": "Event",
    "attempts": "Attempts",
    "last_error": "Last error",
    "failed_at": "Failed",
    # buckets: pages that show one name it (labels={"bucket": "Day"})
    "bucket": "Period start",
    "day": "Day",
}
# Coded values shown as words (the codes stay in downloads and the API).
VALUES: dict[str, dict[str, str]] = {
    # analytics/session.py SOURCES: where a session's end reading came from.
    "end_source": {
        "meter_stop": "meterStop",
        "connector_register": "Latest register",
        "manual": "Manual reading",
        "none": "No reading",
    },
}
# Rollup days are UTC days (their bucket is 00:00 UTC): shown as dates, headed "(UTC)", since in
# the site's zone 00:00 UTC is 05:30 IST and would read as a time.
UTC_DAY_COLUMNS = frozenset({"day"})


def site_tz() -> str:
    """The zone pages show times in (WATTLINE_SITE_TZ, validated by the settings)."""
    return Settings.from_env().site_tz


def zone_abbrev(tz: str, at: datetime | None = None) -> str:
    """The zone's abbreviation at ``at`` ("IST"), or its name where it has none ("+04")."""
    name = (at or datetime.now(UTC)).astimezone(ZoneInfo(tz)).tzname() or tz
    return tz if name[:1] in "+-" else name


def label(
    column: str, *, tz: str, is_time: bool = False, labels: Mapping[str, str] | None = None
) -> str:
    """The header of ``column``: its label, with the zone for a time (``tz``: "UTC" for a UTC
    day); a name nobody labelled reads as words, never as snake_case."""
    base = {**LABELS, **(labels or {})}.get(column) or column.replace("_", " ").capitalize()
    return f"{base} ({tz})" if is_time else base


def local(t: datetime | None, tz: str | None = None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """One time as text in the site's zone; "–" when there is none."""
    if t is None:
        return MISSING
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)  # the database's times are UTC instants
    return t.astimezone(ZoneInfo(tz or site_tz())).strftime(fmt)


def table(
    df: pl.DataFrame,
    *,
    tz: str | None = None,
    labels: Mapping[str, str] | None = None,
    utc_days: frozenset[str] | set[str] = UTC_DAY_COLUMNS,
) -> pl.DataFrame:
    """The copy a page shows: times as wall-clock time in the site's zone (the header names the
    zone), UTC rollup days (``utc_days``) as dates headed "(UTC)", durations as H:MM:SS,
    columns renamed to their labels."""
    tz = tz or site_tz()
    exprs, names = [], {}
    for column, dtype in df.schema.items():
        expr, zone = pl.col(column), None
        if isinstance(dtype, pl.Datetime) and column in utc_days:
            expr, zone = _utc(expr, dtype).dt.date(), "UTC"
        elif isinstance(dtype, pl.Datetime):
            expr, zone = _utc(expr, dtype).dt.convert_time_zone(tz).dt.replace_time_zone(None), tz
        elif isinstance(dtype, pl.Duration):
            expr = _duration_text(expr)
        elif column in VALUES and dtype == pl.String:
            expr = expr.replace(VALUES[column])
        exprs.append(expr)
        names[column] = label(column, tz=zone or tz, is_time=zone is not None, labels=labels)
    return df.select(exprs).rename(names)


def show(
    df: pl.DataFrame,
    *,
    empty: str,
    labels: Mapping[str, str] | None = None,
    key: str | None = None,
    tz: str | None = None,
    utc_days: frozenset[str] | set[str] = UTC_DAY_COLUMNS,
    **kwargs: Any,
) -> None:
    """The labelled table, or ``empty`` (which should say what to do) when there are no rows."""
    if df.is_empty():
        st.info(empty)
        return
    shown = table(df, tz=tz, labels=labels, utc_days=utc_days)
    # Streamlit would draw a date as "2026-12-05 00:00:00" and a time with milliseconds.
    formats = {
        c: st.column_config.DateColumn(c, format="YYYY-MM-DD")
        if isinstance(t, pl.Date)
        else st.column_config.DatetimeColumn(c, format="YYYY-MM-DD HH:mm:ss")
        for c, t in shown.schema.items()
        if isinstance(t, pl.Date | pl.Datetime)
    }
    column_config = {**formats, **kwargs.pop("column_config", {})}
    st.dataframe(
        shown, hide_index=True, placeholder=MISSING, key=key, column_config=column_config, **kwargs
    )


def _utc(expr: pl.Expr, dtype: pl.Datetime) -> pl.Expr:
    # A naive timestamp from the database is UTC (the server's times are timestamptz).
    return expr.dt.replace_time_zone("UTC") if dtype.time_zone is None else expr


def _duration_text(expr: pl.Expr) -> pl.Expr:
    """H:MM:SS, as the live session cards show durations (a negative one as 0:00:00)."""
    s = expr.dt.total_seconds().clip(lower_bound=0)
    return pl.format(
        "{}:{}:{}",
        s // 3600,
        (s % 3600 // 60).cast(pl.String).str.zfill(2),
        (s % 60).cast(pl.String).str.zfill(2),
    )
