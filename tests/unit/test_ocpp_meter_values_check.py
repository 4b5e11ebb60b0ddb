"""The hand-written MeterValues check (the central system's fast path, found by the OCPP load
benchmark) accepts and refuses exactly what the ocpp library's jsonschema validation does, with
the same error codes."""

from __future__ import annotations

import copy
import json
import random

import pytest
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, _validate_payload

from ingest.ocpp import meter_values_check

GOOD = {
    "connectorId": 1,
    "transactionId": 7,
    "meterValue": [
        {
            "timestamp": "2024-01-27T09:45:00Z",
            "sampledValue": [
                {"value": "1500", "unit": "Wh"},
                {"value": "7.40", "measurand": "Power.Active.Import", "unit": "kW"},
                {
                    "value": "32.2",
                    "measurand": "Current.Import",
                    "phase": "L1",
                    "unit": "A",
                    "context": "Sample.Periodic",
                    "location": "Outlet",
                    "format": "Raw",
                },
            ],
        },
        {"timestamp": "2024-01-27T09:46:00Z", "sampledValue": [{"value": "1600"}]},
    ],
}


def _edit(path: tuple, value, delete: bool = False) -> dict:
    payload = copy.deepcopy(GOOD)
    *parents, last = path
    target = payload
    for key in parents:
        target = target[key]
    if delete:
        del target[last]
    else:
        target[last] = value
    return payload


SV = ("meterValue", 0, "sampledValue")
CASES = {
    "good": GOOD,
    "no transaction": _edit(("transactionId",), None, delete=True),
    "connector as text": _edit(("connectorId",), "1"),
    "connector as float": _edit(("connectorId",), 1.0),
    "connector as bool": _edit(("connectorId",), True),
    "transaction as text": _edit(("transactionId",), "7"),
    "no connector": _edit(("connectorId",), None, delete=True),
    "no meterValue": _edit(("meterValue",), None, delete=True),
    "extra property": _edit(("colour",), "red"),
    "meterValue not a list": _edit(("meterValue",), {}),
    "meterValue empty": _edit(("meterValue",), []),
    "entry not an object": _edit(("meterValue", 0), "x"),
    "entry without timestamp": _edit(("meterValue", 0, "timestamp"), None, delete=True),
    "entry with extra": _edit(("meterValue", 1, "extra"), 1),
    "timestamp a number": _edit(("meterValue", 0, "timestamp"), 5),
    "sampledValue empty": _edit((*SV,), []),
    "sampledValue an object": _edit((*SV,), {"value": "1"}),
    "sample not an object": _edit((*SV, 0), "1500"),
    "sample without value": _edit((*SV, 0, "value"), None, delete=True),
    "value a number": _edit((*SV, 0, "value"), 1500),
    "unknown unit": _edit((*SV, 0, "unit"), "MWh"),
    "unit a number": _edit((*SV, 0, "unit"), 3),
    "unknown measurand": _edit((*SV, 1, "measurand"), "Energy"),
    "unknown phase": _edit((*SV, 2, "phase"), "L4"),
    "unknown location": _edit((*SV, 2, "location"), "Roof"),
    "unknown context": _edit((*SV, 2, "context"), "Sometimes"),
    "unknown format": _edit((*SV, 2, "format"), "Signed"),
    "extra in a sample": _edit((*SV, 1, "colour"), "red"),
    "deep and shallow faults": _edit(("connectorId",), "1") | {"meterValue": [{"x": 1}]},
    "missing and deeper fault": {"meterValue": [{"timestamp": 1, "sampledValue": []}]},
    "extra and deeper fault": _edit(("colour",), "red") | {"connectorId": "1"},
    "sample: no value, bad unit": {"connectorId": 1, "meterValue": [
        {"timestamp": "t", "sampledValue": [{"unit": "MWh"}], "x": 1}]},
}  # fmt: skip


def _library_code(payload) -> str | None:
    try:
        _validate_payload(Call("1", "MeterValues", payload), "1.6")
    except OCPPError as e:
        return e.code
    return None


def _our_code(payload) -> str | None:
    try:
        meter_values_check.check(payload)
    except OCPPError as e:
        return e.code
    return None


@pytest.mark.parametrize("name", CASES)
def test_the_check_agrees_with_the_library_schema(name):
    payload = CASES[name]
    assert _our_code(payload) == _library_code(payload)


def test_the_check_agrees_with_the_library_on_random_damage():
    rng = random.Random(7)
    junk = [None, 0, 1.5, True, "", "Wh", "L1", "Sample.Clock", [], {}, [{}], {"value": "1"}]
    for _ in range(2000):
        payload = json.loads(json.dumps(GOOD))
        for _ in range(rng.randint(1, 3)):
            node, key = _random_place(rng, payload)
            if isinstance(node, dict) and rng.random() < 0.3:
                node.pop(key, None)
            elif isinstance(node, dict) and rng.random() < 0.2:
                node[rng.choice(["extra", "unit", "phase", "value", "timestamp"])] = rng.choice(
                    junk
                )
            else:
                node[key] = rng.choice(junk)
        assert _our_code(payload) == _library_code(payload), payload


def _random_place(rng: random.Random, payload: dict):
    """A random (container, key) somewhere in the payload."""
    node, key = payload, rng.choice(list(payload))
    while isinstance(node[key], (dict, list)) and node[key] and rng.random() < 0.7:
        node = node[key]
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
    return node, key
