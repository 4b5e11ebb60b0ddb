"""OCPP 2.0.1 meter values onto the same ``Sample`` rows as 1.6's (ingest/ocpp/normalise.py).

What differs from 1.6: ``value`` is a JSON number, not a string; the unit comes in
``unitOfMeasure`` {unit, multiplier}, the value being value x 10^multiplier of that unit (the
default unit is Wh, as in 1.6); a value may carry a ``signedMeterValue`` beside it, whose plain
``value`` is stored and whose signature stays in the frame log (ocpp_messages) for anyone who
needs to verify it. Everything else (measurand, phase, location, context, the base units, the
edge checks, the time window) is 1.6's code, so a reading means the same in both versions.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ingest.clock import TimeWindow
from ingest.ocpp import normalise
from ingest.ocpp.normalise import Rejected, Sample

MAX_MULTIPLIER = 9  # unitOfMeasure.multiplier is an integer; beyond this no meter is plausible


def _value_text(value: Any, multiplier: Any) -> str | None:
    """The number as 1.6 would have sent it, the multiplier applied; None if it is not one,
    "NaN" (rejected by the normaliser) for a multiplier the server will not apply."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(multiplier, bool) or not isinstance(multiplier, int):
        return "NaN"
    if abs(multiplier) > MAX_MULTIPLIER:
        # Not None: the caller would then store the bare value as if the multiplier were 0.
        return "NaN"
    try:
        # repr gives the shortest text that reads back as the same float: 0.1, not 0.1000...0555.
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None
    return str(number.scaleb(multiplier)) if number.is_finite() else "NaN"


def as_1_6(raw: dict[str, Any]) -> dict[str, Any]:
    """A 2.0.1 sampled value in 1.6's shape, for ``normalise.sampled_value``: with snake_case
    keys as the ocpp library hands them over (TransactionEvent) or camelCase as they came off
    the wire (MeterValues, checked by hand)."""
    unit = raw.get("unitOfMeasure") or raw.get("unit_of_measure") or {}
    multiplier = unit.get("multiplier", 0)
    text = _value_text(raw.get("value"), multiplier)
    shaped = {
        "value": text if text is not None else repr(raw.get("value")),
        "measurand": raw.get("measurand"),
        "phase": raw.get("phase"),
        "location": raw.get("location"),
        "context": raw.get("context"),
        "unit": unit.get("unit"),
    }
    return {k: v for k, v in shaped.items() if v is not None}


def meter_values(
    meter_value: list[dict[str, Any]], window: TimeWindow, now: datetime, camel: bool = False
) -> list[Sample | Rejected]:
    """Every sampled value of a 2.0.1 meterValue list (MeterValues or a TransactionEvent);
    ``camel``: the list as it came off the wire, not re-keyed by the library."""
    key = "sampledValue" if camel else "sampled_value"
    shaped = [
        {"timestamp": e["timestamp"], "sampled_value": list(map(as_1_6, e[key]))}
        for e in meter_value
    ]
    return normalise.meter_values(shaped, window, now)


def main_register(samples: list[Sample | Rejected]) -> Sample | None:
    """The latest reading of the main energy register among ``samples``, if any."""
    registers = [s for s in samples if isinstance(s, Sample) and s.is_main_register]
    return max(registers, key=lambda s: s.time, default=None)
