"""Charger payloads to internal values: times, ids, and sampled values in base units.

Every OCPP sampled value becomes one ``Sample`` (Wh, W, var, ... never k-prefixed) before anything
is stored; values that are not numbers the database takes (not finite, |x| >= 1e15), and values
stamped outside the time window, are handed back as ``Rejected`` with a reason, to be kept in
``ingest_rejects`` rather than stored as a number; a value finer than 12 decimals is rounded
there (float noise from firmware printing doubles). Ids and register
readings outside their column's range are refused with PropertyConstraintViolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.exceptions import FormationViolationError, PropertyConstraintViolationError

from ingest import edge
from ingest.clock import TimeWindow, aware_time

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
            details={"connectorId": _shown(value)},
        )
    return value


def transaction_id(value: int) -> int:
    """A transactionId the charger sends back: OCPP 1.6 ids are 32-bit integers (ours are
    positive, offline ones negative)."""
    if problem := edge.int_problem(value):
        raise PropertyConstraintViolationError(
            description=f"transactionId {problem}", details={"transactionId": _shown(value)}
        )
    return value


def meter_reading(value: int, field: str) -> int:
    """meterStart or meterStop, in Wh."""
    if problem := edge.number_problem(value):
        raise PropertyConstraintViolationError(
            description=f"{field} {problem}", details={field: _shown(value)}
        )
    return value


def _shown(value: int) -> int | str:
    # Echoed in the CALLERROR: a 4,000-digit integer is cut, not sent back whole.
    text = str(value)
    return value if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"


def _base_unit(measurand: str, unit: str | None) -> tuple[str, Decimal]:
    if unit is None:
        for prefix, default in _DEFAULT_UNITS.items():
            if measurand.startswith(prefix):
                return default, Decimal(1)
        return "", Decimal(1)
    return _SCALED_UNITS.get(unit, (unit, Decimal(1)))


def _number(text: str) -> Decimal | str:
    """The value as a Decimal, or why it is not one the database takes."""
    try:
        number = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return "is not a finite number"
    if len(text) <= 13 and number.is_finite() and "e" not in text and "E" not in text:
        # 13 characters without an exponent hold neither 1e15 nor 13 decimals: most readings
        # skip edge.storable (0.5 us each, four or more in every MeterValues).
        return number
    return edge.storable(number)


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
    if isinstance(value, str):
        return Rejected(f"sampled value {_cut(raw.get('value'))} {value}", raw)
    measurand = raw.get("measurand") or DEFAULT_MEASURAND
    unit, factor = _base_unit(measurand, raw.get("unit"))
    if factor != 1 and (problem := edge.number_problem(value * factor)):
        return Rejected(f"sampled value {_cut(raw.get('value'))} {unit} {problem}", raw)
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


def _cut(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def meter_values(
    meter_value: list[dict[str, Any]],
    window: TimeWindow,
    now: datetime,
    key: str = "sampled_value",
) -> list[Sample | Rejected]:
    """Every sampled value of a MeterValues (or StopTransaction transactionData) list. Values
    stamped outside ``window`` are confirmed but kept as rejects: a charger whose clock was never
    set must not be told to send them again forever, nor put them in 1970's rollups. ``key``
    names the list of sampled values: "sampledValue" in a payload as it came off the wire."""
    found: list[Sample | Rejected] = []
    for entry in meter_value:
        text = entry["timestamp"]
        at = timestamp(text, "meterValue.timestamp")
        if problem := window.problem(at, now):
            reason = f"meterValue.timestamp {text} {problem}"
            found.extend(Rejected(reason, raw) for raw in entry[key])
        else:
            found.extend(sampled_value(at, raw) for raw in entry[key])
    return found
