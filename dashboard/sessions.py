"""The live session estimator: for each open charging session, energy so far, what it costs
with tax, state of charge and how long it has run, from the rows of ``dash_active_sessions``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from analytics.cost import DEFAULT_TAX_RATE, session_cost
from analytics.soc import charge_outcome


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


def live_session(row: dict[str, Any]) -> LiveSession:
    energy = row["energy_since_start_kwh"]
    cost = total = None
    if energy is not None and row["energy_rate"] is not None:
        tax_rate = row["tax_rate"] if row["tax_rate"] is not None else DEFAULT_TAX_RATE
        money = session_cost(energy, row["energy_rate"], tax_rate, row["currency"] or "")
        cost, total = money.cost, money.total
    hours = None
    if row["duration"] is not None and row["duration"].total_seconds() > 0:
        hours = Decimal(str(row["duration"].total_seconds() / 3600))
    outcome = (
        charge_outcome(
            energy,
            battery_kwh=row["battery_kwh"],
            km_per_kwh=row["km_per_kwh"],
            hours=hours,
            connector_max_kw=row["connector_max_kw"],
        )
        if energy is not None
        else None
    )
    if row["soc_pct"] is not None:
        soc, source = Decimal(row["soc_pct"]), "charger"
    elif outcome is not None and outcome.soc_change_pct is not None:
        soc, source = outcome.soc_change_pct, "estimated"
    else:
        soc, source = None, "unknown"
    return LiveSession(
        charge_point_id=row["charge_point_id"],
        connector_id=row["connector_id"],
        transaction_id=row["transaction_id"],
        id_tag=row["id_tag"],
        energy_kwh=energy,
        cost=cost,
        total=total,
        currency=row["currency"] or "",
        soc_pct=soc,
        soc_source=source,
        average_kw=outcome.average_kw if outcome else None,
        duration=duration_text(row["duration"]),
        freshness=row["freshness"],
    )
