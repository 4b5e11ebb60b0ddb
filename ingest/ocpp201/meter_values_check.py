"""The OCPP 2.0.1 MeterValuesRequest schema, checked by hand, as 1.6's is
(ingest/ocpp/meter_values_check.py, whose reasons apply: the library's jsonschema walk and its
re-keying of every sampled value to snake_case doubled the server's CPU per MeterValues, 0.82
against 1.6's 0.40 ms in bench/ocpp_load.py). It accepts exactly what the schema accepts and
answers a violation with the error the library would raise, spelled for 2.0.1 by the wire:
a wrong type or a string over its maxLength -> TypeConstraintViolation, an unknown property, a
value outside an enumeration or an empty list -> FormatViolation, a missing property ->
OccurrenceConstraintViolation.
"""

from __future__ import annotations

from typing import Any

from ocpp.exceptions import FormatViolationError, TypeConstraintViolationError

from ingest.ocpp.meter_values_check import _integer, _list, _object, _only, _required, _string

_ENUMS = {
    "context": frozenset((
        "Interruption.Begin", "Interruption.End", "Other", "Sample.Clock", "Sample.Periodic",
        "Transaction.Begin", "Transaction.End", "Trigger",
    )),
    "measurand": frozenset((
        "Current.Export", "Current.Import", "Current.Offered", "Energy.Active.Export.Register",
        "Energy.Active.Import.Register", "Energy.Reactive.Export.Register",
        "Energy.Reactive.Import.Register", "Energy.Active.Export.Interval",
        "Energy.Active.Import.Interval", "Energy.Active.Net", "Energy.Reactive.Export.Interval",
        "Energy.Reactive.Import.Interval", "Energy.Reactive.Net", "Energy.Apparent.Net",
        "Energy.Apparent.Import", "Energy.Apparent.Export", "Frequency", "Power.Active.Export",
        "Power.Active.Import", "Power.Factor", "Power.Offered", "Power.Reactive.Export",
        "Power.Reactive.Import", "SoC", "Voltage",
    )),
    "phase": frozenset(("L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1")),
    "location": frozenset(("Body", "Cable", "EV", "Inlet", "Outlet")),
}  # fmt: skip
_PAYLOAD_KEYS = frozenset(("customData", "evseId", "meterValue"))
_ENTRY_KEYS = frozenset(("customData", "sampledValue", "timestamp"))
_SAMPLE_KEYS = frozenset(("customData", "value", *_ENUMS, "signedMeterValue", "unitOfMeasure"))
_SIGNED = {"signedMeterData": 2500, "signingMethod": 50, "encodingMethod": 50, "publicKey": 2500}
_UNIT_KEYS = frozenset(("customData", "unit", "multiplier"))


def check(payload: Any) -> None:
    """Raise the OCPP error for the first schema violation in a MeterValues payload."""
    # jsonschema reports the first error it finds, walking each 2.0.1 schema in its own order:
    # type, additionalProperties, each property, required (1.6's puts additional properties
    # after the properties). The checks below go in the same order.
    _object(payload, "MeterValues")
    _only(payload, _PAYLOAD_KEYS, "MeterValues")
    if "customData" in payload:
        _custom(payload["customData"])
    if "evseId" in payload:
        _integer(payload["evseId"], "evseId")
    if "meterValue" in payload:
        entries = payload["meterValue"]
        _list(entries, "meterValue")
        for entry in entries:
            _entry(entry)
    _required(payload, ("evseId", "meterValue"))


def _entry(entry: Any) -> None:
    _object(entry, "meterValue")
    _only(entry, _ENTRY_KEYS, "meterValue")
    if "customData" in entry:
        _custom(entry["customData"])
    if "sampledValue" in entry:
        samples = entry["sampledValue"]
        _list(samples, "sampledValue")
        for sample in samples:
            _sample(sample)
    if "timestamp" in entry:
        _string(entry["timestamp"], "timestamp")
    _required(entry, ("timestamp", "sampledValue"))


def _sample(sample: Any) -> None:
    _object(sample, "sampledValue")
    _only(sample, _SAMPLE_KEYS, "sampledValue")
    if "customData" in sample:
        _custom(sample["customData"])
    if "value" in sample:
        _number(sample["value"], "value")
    for key, allowed in _ENUMS.items():  # the schema's order of properties
        if key in sample:
            value = sample[key]
            _string(value, key)
            if value not in allowed:
                raise FormatViolationError(details={"cause": f"{value!r} is not a valid {key}"})
    if "signedMeterValue" in sample:
        _signed(sample["signedMeterValue"])
    if "unitOfMeasure" in sample:
        _unit(sample["unitOfMeasure"])
    _required(sample, ("value",))


def _signed(signed: Any) -> None:
    _object(signed, "signedMeterValue")
    _only(signed, frozenset(("customData", *_SIGNED)), "signedMeterValue")
    if "customData" in signed:
        _custom(signed["customData"])
    for key, longest in _SIGNED.items():
        if key in signed:
            _text(signed[key], key, longest)
    _required(signed, tuple(_SIGNED))


def _unit(unit: Any) -> None:
    _object(unit, "unitOfMeasure")
    _only(unit, _UNIT_KEYS, "unitOfMeasure")
    if "customData" in unit:
        _custom(unit["customData"])
    if "unit" in unit:
        _text(unit["unit"], "unit", 20)
    if "multiplier" in unit:
        _integer(unit["multiplier"], "multiplier")


def _custom(custom: Any) -> None:
    """CustomDataType: an object with a vendorId; any other property is allowed."""
    _object(custom, "customData")
    if "vendorId" in custom:
        _text(custom["vendorId"], "vendorId", 255)
    _required(custom, ("vendorId",))


def _number(value: Any, name: str) -> None:
    # JSON's numbers: an int or a float, never a bool (True is an int in Python).
    if type(value) is not int and type(value) is not float:
        raise TypeConstraintViolationError(details={"cause": f"{name} must be a number"})


def _text(value: Any, name: str, longest: int) -> None:
    _string(value, name)
    if len(value) > longest:
        raise TypeConstraintViolationError(
            details={"cause": f"{name} is longer than {longest} characters"}
        )
