"""The hand-written 2.0.1 MeterValues check accepts and refuses exactly what the ocpp library's
jsonschema validation of MeterValuesRequest does, with the same error codes."""

from __future__ import annotations

import copy
import json
import random

import pytest
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, _validate_payload

from ingest.ocpp201 import meter_values_check

SIGNED = {"signedMeterData": "AAEC", "signingMethod": "ECDSA", "encodingMethod": "OCMF",
          "publicKey": "BBQ="}  # fmt: skip
GOOD = {
    "evseId": 1,
    "customData": {"vendorId": "acme", "anything": [1, 2]},
    "meterValue": [
        {
            "timestamp": "2024-01-27T09:45:00Z",
            "sampledValue": [
                {"value": 1500, "unitOfMeasure": {"unit": "Wh", "multiplier": 0}},
                {"value": 7.4, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}},
                {"value": 32.2, "measurand": "Current.Import", "phase": "L1",
                 "context": "Sample.Periodic", "location": "Outlet", "signedMeterValue": SIGNED},
            ],
        },
        {"timestamp": "2024-01-27T09:46:00Z", "sampledValue": [{"value": 1600}]},
    ],
}  # fmt: skip


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
    "evse as text": _edit(("evseId",), "1"),
    "evse as bool": _edit(("evseId",), True),
    "no evse": _edit(("evseId",), None, delete=True),
    "no meterValue": _edit(("meterValue",), None, delete=True),
    "extra property": _edit(("colour",), "red"),
    "customData without vendorId": _edit(("customData",), {"x": 1}),
    "vendorId too long": _edit(("customData", "vendorId"), "v" * 256),
    "meterValue empty": _edit(("meterValue",), []),
    "entry without timestamp": _edit(("meterValue", 0, "timestamp"), None, delete=True),
    "timestamp a number": _edit(("meterValue", 0, "timestamp"), 5),
    "sampledValue empty": _edit((*SV,), []),
    "value as text (1.6 style)": _edit((*SV, 0, "value"), "1500"),
    "value a bool": _edit((*SV, 0, "value"), False),
    "sample without value": _edit((*SV, 0, "value"), None, delete=True),
    "unit too long": _edit((*SV, 0, "unitOfMeasure", "unit"), "u" * 21),
    "multiplier a float": _edit((*SV, 0, "unitOfMeasure", "multiplier"), 1.5),
    "unit extra": _edit((*SV, 0, "unitOfMeasure", "scale"), 1),
    "1.6 unit field": _edit((*SV, 1, "unit"), "kW"),
    "unknown measurand": _edit((*SV, 1, "measurand"), "Temperature"),
    "unknown phase": _edit((*SV, 2, "phase"), "L4"),
    "unknown context": _edit((*SV, 2, "context"), "Sometimes"),
    "signed without key": _edit((*SV, 2, "signedMeterValue"), {"signedMeterData": "A"}),
    "signed data too long": _edit((*SV, 2, "signedMeterValue", "signedMeterData"), "A" * 2501),
}  # fmt: skip


def _library_code(payload) -> str | None:
    try:
        _validate_payload(Call("1", "MeterValues", payload), "2.0.1")
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
    rng = random.Random(11)
    junk = [None, 0, 1.5, True, "", "Wh", "L1", "Sample.Clock", [], {}, [{}], {"value": 1},
            {"vendorId": "v"}, "x" * 30]  # fmt: skip
    for _ in range(2000):
        payload = json.loads(json.dumps(GOOD))
        for _ in range(rng.randint(1, 3)):
            node, key = _random_place(rng, payload)
            if isinstance(node, dict) and rng.random() < 0.3:
                node.pop(key, None)
            elif isinstance(node, dict) and rng.random() < 0.2:
                extra = rng.choice(["extra", "unit", "phase", "value", "timestamp", "customData"])
                node[extra] = rng.choice(junk)
            else:
                node[key] = rng.choice(junk)
        assert _our_code(payload) == _library_code(payload), payload


def _random_place(rng: random.Random, payload: dict):
    node, key = payload, rng.choice(list(payload))
    while isinstance(node[key], (dict, list)) and node[key] and rng.random() < 0.7:
        node = node[key]
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
    return node, key
