"""The live session estimator: for each open charging session, energy so far, what it costs
with tax, state of charge and how long it has run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import polars as pl


@dataclass(frozen=True)
class LiveSession:
    charge_point_id: str
    connector_id: int
    transaction_id: int
    id_tag: str | None
    energy_kwh: Decimal | None
    cost: Decimal | None
    total: Decimal | None
    currency: str
    soc_pct: Decimal | None  # the charger's SoC reading, else the change from battery size
    soc_source: str  # "charger", "estimated" or "unknown"
    average_kw: Decimal | None
    duration: str  # H:MM:SS
    freshness: str


def duration_text(d: timedelta | None) -> str:
    if d is None:
        return "–"
    seconds = max(int(d.total_seconds()), 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def live_session(row: dict[str, Any], report: dict[str, Any] | None) -> LiveSession:
    """``row`` from ``dash_active_sessions`` (what only the live view knows: freshness, duration,
    the charger's SoC reading) and ``report``, the session's row of the session report
    (analytics/session_report_job.py), whose energy, money and SOC estimate are the same figures
    the Reports page, the API and the CLI show, time-of-use bands included."""
    report = report or {}
    if row["soc_pct"] is not None:
        soc, source = Decimal(row["soc_pct"]), "charger"
    elif report.get("soc_change_pct") is not None:
        soc, source = report["soc_change_pct"], "estimated"
    else:
        soc, source = None, "unknown"
    return LiveSession(
        charge_point_id=row["charge_point_id"],
        connector_id=row["connector_id"],
        transaction_id=row["transaction_id"],
        id_tag=row["id_tag"],
        energy_kwh=report.get("energy_kwh"),
        cost=report.get("cost"),
        total=report.get("total"),
        currency=report.get("currency") or "",
        soc_pct=soc,
        soc_source=source,
        average_kw=report.get("average_kw"),
        duration=duration_text(row["duration"]),
        freshness=row["freshness"],
    )


SESSION_FIGURES = {"energy_kwh": "energy_since_start_kwh", "cost": "estimated_cost"}


def open_ids(frame: pl.DataFrame) -> tuple[int, ...]:
    return tuple(frame["transaction_id"].drop_nulls().unique().sort().to_list())


def with_session_figures(frame: pl.DataFrame, report: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (connector status rows with transaction_id) with the open session's energy,
    cost and currency taken from its session report row, so a card and the session's details
    never disagree. Connectors without an open session get nulls."""
    figures = report.select(
        pl.col("transaction_id").cast(pl.Int64),
        *(pl.col(k).alias(v) for k, v in SESSION_FIGURES.items()),
        pl.col("currency").cast(pl.String),
    )
    # The figures stay where the status query put them (a table's columns must not move), and the
    # join is on the column itself: joined on an expression, Polars keeps the right-hand key as a
    # "transaction_id_right" column, which the Chargers page then showed.
    added = [c for c in figures.columns if c not in frame.columns]
    return (
        frame.drop(*SESSION_FIGURES.values(), "currency", strict=False)
        .with_columns(pl.col("transaction_id").cast(pl.Int64))
        .join(figures, on="transaction_id", how="left", maintain_order="left")
        .select(*frame.columns, *added)
    )
