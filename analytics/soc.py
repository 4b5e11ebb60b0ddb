"""What a session did for the car: SOC change, range added, charging speed and efficiency.
Each figure is None when what it needs (battery size, duration, connector power) is unknown."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_KM_PER_KWH = Decimal("4.5")


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ChargeOutcome:
    soc_change_pct: Decimal | None
    range_added_km: int | None
    average_kw: Decimal | None
    efficiency_pct: Decimal | None


def charge_outcome(
    energy_kwh: Decimal,
    *,
    battery_kwh: Decimal | None = None,
    km_per_kwh: Decimal | None = None,
    hours: Decimal | None = None,
    connector_max_kw: Decimal | None = None,
) -> ChargeOutcome:
    """15.545 kWh into a 40 kWh battery: 38.9 % and ~70 km; 12.44 kW average on a 22 kW
    connector: 56.5 % efficiency (average speed over the connector's maximum)."""
    soc = _round(energy_kwh / battery_kwh * 100, 1) if battery_kwh else None
    range_km = int(_round(energy_kwh * (km_per_kwh or DEFAULT_KM_PER_KWH), 0))
    average = _round(energy_kwh / hours, 2) if hours else None
    efficiency = (
        _round(average / connector_max_kw * 100, 1)
        if average is not None and connector_max_kw
        else None
    )
    return ChargeOutcome(soc, range_km, average, efficiency)
