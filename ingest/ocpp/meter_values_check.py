"""The OCPP 1.6 MeterValues.json schema, checked by hand.

MeterValues is nearly all of a fleet's traffic. The ocpp library validates every CALL with
jsonschema on a worker thread (and its empty CALLRESULT too): two thread hops and a generic
schema walk per message, the largest part of the library's own cost under load (see
bench/ocpp_load.py). The handler skips that and ``check`` runs instead, which accepts exactly
what the schema accepts and answers a violation with the error code the library would give:
a wrong type -> TypeConstraintViolation, an unknown property or a value outside an enumeration
or an empty list -> FormatViolation (sent as 1.6's FormationViolation), a missing property ->
ProtocolError. Where a payload has several faults, the one reported is the one jsonschema
would have reported.
"""

from __future__ import annotations

from typing import Any

from ocpp.exceptions import FormatViolationError, ProtocolError, TypeConstraintViolationError

_ENUMS = {
    "context": frozenset(
        (
            "Interruption.Begin",
            "Interruption.End",
            "Sample.Clock",
            "Sample.Periodic",
            "Transaction.Begin",
            "Transaction.End",
            "Trigger",
            "Other",
        )
    ),
    "format": frozenset(("Raw", "SignedData")),
    "measurand": frozenset(
        (
            "Energy.Active.Export.Register",
            "Energy.Active.Import.Register",
            "Energy.Reactive.Export.Register",
            "Energy.Reactive.Import.Register",
            "Energy.Active.Export.Interval",
            "Energy.Active.Import.Interval",
            "Energy.Reactive.Export.Interval",
            "Energy.Reactive.Import.Interval",
            "Power.Active.Export",
            "Power.Active.Import",
            "Power.Offered",
            "Power.Reactive.Export",
            "Power.Reactive.Import",
            "Power.Factor",
            "Current.Import",
            "Current.Export",
            "Current.Offered",
            "Voltage",
            "Frequency",
            "Temperature",
            "SoC",
            "RPM",
        )
    ),
    "phase": frozenset(("L1", "L2", "L3", "N", "L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1")),
    "location": frozenset(("Cable", "EV", "Inlet", "Outlet", "Body")),
    "unit": frozenset(
        (
            "Wh",
            "kWh",
            "varh",
            "kvarh",
            "W",
            "kW",
            "VA",
            "kVA",
            "var",
            "kvar",
            "A",
            "V",
            "K",
            "Celcius",
            "Celsius",
            "Fahrenheit",
            "Percent",
            "Hertz",
        )
    ),
}
_PAYLOAD_KEYS = frozenset(("connectorId", "transactionId", "meterValue"))
_ENTRY_KEYS = frozenset(("timestamp", "sampledValue"))
_SAMPLE_KEYS = frozenset(("value", *_ENUMS))


def check(payload: Any) -> None:
    """Raise the OCPP error for the first schema violation in a MeterValues payload."""
    # The library raises the first error jsonschema finds, walking the schema depth first in
    # its own order: type, each property (connectorId, transactionId, meterValue), then
    # additional properties, then required ones. The checks below go in the same order.
    _object(payload, "MeterValues")
    if "connectorId" in payload:
        _integer(payload["connectorId"], "connectorId")
    if "transactionId" in payload:
        _integer(payload["transactionId"], "transactionId")
    if "meterValue" in payload:
        entries = payload["meterValue"]
        _list(entries, "meterValue")
        for entry in entries:
            _entry(entry)
    _only(payload, _PAYLOAD_KEYS, "MeterValues")
    _required(payload, ("connectorId", "meterValue"))


def _entry(entry: Any) -> None:
    _object(entry, "meterValue")
    if "timestamp" in entry:
        _string(entry["timestamp"], "timestamp")
    if "sampledValue" in entry:
        samples = entry["sampledValue"]
        _list(samples, "sampledValue")
        for sample in samples:
            _sample(sample)
    _only(entry, _ENTRY_KEYS, "meterValue")
    _required(entry, ("timestamp", "sampledValue"))


def _sample(sample: Any) -> None:
    _object(sample, "sampledValue")
    if "value" in sample:
        _string(sample["value"], "value")
    for key, allowed in _ENUMS.items():  # the schema's order of properties
        if key in sample:
            value = sample[key]
            _string(value, key)
            if value not in allowed:
                raise FormatViolationError(details={"cause": f"{value!r} is not a valid {key}"})
    _only(sample, _SAMPLE_KEYS, "sampledValue")
    _required(sample, ("value",))


def _object(value: Any, name: str) -> None:
    if type(value) is not dict:
        raise TypeConstraintViolationError(details={"cause": f"{name} must be an object"})


def _only(value: dict, allowed: frozenset[str], name: str) -> None:
    if not value.keys() <= allowed:
        extra = sorted(value.keys() - allowed)
        raise FormatViolationError(
            details={"cause": f"additional properties are not allowed in {name}: {extra}"}
        )


def _required(value: dict, required: tuple[str, ...]) -> None:
    for key in required:
        if key not in value:
            raise ProtocolError(details={"cause": f"{key!r} is a required property"})


def _list(value: Any, name: str) -> None:
    if type(value) is not list:
        raise TypeConstraintViolationError(details={"cause": f"{name} must be an array"})
    if not value:
        raise FormatViolationError(details={"cause": f"{name} must have at least one item"})


def _integer(value: Any, name: str) -> None:
    # As draft-04 has it: 3.0 is a number, not an integer, and true is not an integer either.
    if type(value) is not int:
        raise TypeConstraintViolationError(details={"cause": f"{name} must be an integer"})


def _string(value: Any, name: str) -> None:
    if type(value) is not str:
        raise TypeConstraintViolationError(details={"cause": f"{name} must be a string"})
