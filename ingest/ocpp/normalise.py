"""Charger payloads to internal values: times, and sampled values in base units.

Every OCPP sampled value becomes one ``Sample`` (Wh, W, var, ... never k-prefixed) before anything
is stored; values that are not numbers are handed back as ``Rejected`` with a reason, to be kept
in ``ingest_rejects`` rather than stored as a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.exceptions import FormationViolationError, PropertyConstraintViolationError

from ingest.clock import aware_time

DEFAULT_MEASURAND = "Energy.Active.Import.Register"
MAIN_REGISTER = (DEFAULT_MEASURAND, "", "Outlet")  # measurand, phase, location of last_meter_wh

# unit as sent -> (base unit, factor)
_SCALED_UNITS = {
    "kWh": ("Wh", Decimal(1000)),
    "kvarh": ("varh", Decimal(1000)),
    "kW": ("W", Decimal(1000)),
    "kvar": ("var", Decimal(1000)),
    "kVA": ("VA", Decimal(1000)),
    "Celcius": ("Celsius", Decimal(1)),  # the 1.6 schema's own spelling
}

# When a sampled value carries no unit: the 1.6 default is Wh, which only fits energy.
_DEFAULT_UNITS = {
    "Energy.Reactive": "varh",
    "Energy": "Wh",
    "Power.Active": "W",
    "Power.Reactive": "var",
    "Power.Offered": "W",
    "Power.Factor": "",
    "Current": "A",
    "Voltage": "V",
    "SoC": "Percent",
    "Temperature": "Celsius",
    "Frequency": "Hz",
    "RPM": "RPM",
}


@dataclass(frozen=True)
class Sample:
    time: datetime
    measurand: str
    phase: str
    location: str
    context: str
    unit: str
    value: Decimal

    @property
    def is_main_register(self) -> bool:
        return (self.measurand, self.phase, self.location) == MAIN_REGISTER


@dataclass(frozen=True)
class Rejected:
    reason: str
    raw: dict[str, Any]


def timestamp(value: str, field: str = "timestamp") -> datetime:
    """An OCPP dateTime. The ocpp library does not check the format, so we do; a time without
    a zone would be read in some unknown local time, so it is refused too."""
    try:
        return aware_time(value)
    except ValueError as exc:
        raise FormationViolationError(
            description=f"{field} {exc}", details={field: value}
        ) from None


def connector_id(value: int) -> int:
    if not 0 <= value < 2**31:
        raise PropertyConstraintViolationError(
            description="connectorId must be 0 or more (a 32-bit integer)",
            details={"connectorId": value},
        )
    return value


def _base_unit(measurand: str, unit: str | None) -> tuple[str, Decimal]:
    if unit is None:
        for prefix, default in _DEFAULT_UNITS.items():
            if measurand.startswith(prefix):
                return default, Decimal(1)
        return "", Decimal(1)
    return _SCALED_UNITS.get(unit, (unit, Decimal(1)))


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return number if number.is_finite() else None


def _temperature(value: Decimal, unit: str) -> tuple[str, Decimal]:
    if unit == "Fahrenheit":
        return "Celsius", (value - 32) * 5 / 9
    if unit == "K":
        return "Celsius", value - Decimal("273.15")
    return unit, value


def sampled_value(at: datetime, raw: dict[str, Any]) -> Sample | Rejected:
    """One sampled value (snake_case keys, as the ocpp library hands them over)."""
    if raw.get("format") == "SignedData":
        return Rejected("signed meter data is not a number", raw)
    value = _number(raw.get("value"))
    if value is None:
        return Rejected(f"sampled value {raw.get('value')!r} is not a finite number", raw)
    measurand = raw.get("measurand") or DEFAULT_MEASURAND
    unit, factor = _base_unit(measurand, raw.get("unit"))
    unit, value = _temperature(value * factor, unit)
    return Sample(
        time=at,
        measurand=measurand,
        phase=raw.get("phase") or "",
        location=raw.get("location") or "Outlet",
        context=raw.get("context") or "Sample.Periodic",
        unit=unit,
        value=value,
    )


def meter_values(meter_value: list[dict[str, Any]]) -> list[Sample | Rejected]:
    """Every sampled value of a MeterValues (or StopTransaction transactionData) list."""
    found: list[Sample | Rejected] = []
    for entry in meter_value:
        at = timestamp(entry["timestamp"], "meterValue.timestamp")
        found.extend(sampled_value(at, raw) for raw in entry["sampled_value"])
    return found
