"""Session energy with the end-register priority of docs/architecture.md: the transaction's
meterStop, else the connector's latest Energy.Active.Import.Register reading inside the
transaction, else an operator's manual reading, else none. The source used travels with the
result, so a user can see why a figure is what it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from analytics.cost import kwh_from_wh

SOURCES = ("meter_stop", "connector_register", "manual", "none")


@dataclass(frozen=True)
class EndRegister:
    wh: Decimal | None
    source: str
    at: datetime | None = None


def end_register(
    meter_stop_wh: Decimal | None,
    latest_register_wh: Decimal | None,
    latest_register_at: datetime | None,
    manual_wh: Decimal | None,
    stopped_at: datetime | None = None,
) -> EndRegister:
    if meter_stop_wh is not None:
        return EndRegister(Decimal(meter_stop_wh), "meter_stop", stopped_at)
    if latest_register_wh is not None:
        return EndRegister(Decimal(latest_register_wh), "connector_register", latest_register_at)
    if manual_wh is not None:
        return EndRegister(Decimal(manual_wh), "manual")
    return EndRegister(None, "none")


def session_energy_kwh(
    meter_start_wh: Decimal | None, end: EndRegister, register_wh: Decimal | None = None
) -> Decimal | None:
    """End − start in kWh to 3 decimals; None when either is unknown. A register below its
    start (a meter replaced mid-session) is reported as 0, never as negative energy. A session
    that ends on the connector's register counts ``register_wh`` instead when it is known: the
    deltas stored since its start reading (wattline.session_register_wh, migration 0018), which
    stay right for a session-relative meterStart next to lifetime readings."""
    if end.source == "connector_register" and register_wh is not None:
        return kwh_from_wh(max(Decimal(register_wh), Decimal(0)))
    if meter_start_wh is None or end.wh is None:
        return None
    return kwh_from_wh(max(end.wh - Decimal(meter_start_wh), Decimal(0)))
