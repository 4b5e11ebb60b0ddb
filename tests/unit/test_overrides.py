"""Third-party code we build on: when its source changes, say what of ours to re-check.

Our subclasses override the library's methods (paho's private ones in ingest/mqtt/client.py) or
rely on what the library's methods do (the ocpp ChargePoint only calling ``recv()``/``send()``
and ``logger`` in ingest/ocpp/wire.py). A new release can change either silently; each method's
source is hashed here, and a changed hash fails with the file to re-read. After re-checking, put
the new hash below.
"""

from __future__ import annotations

import hashlib
import inspect

import paho.mqtt.client as mqtt
import pytest
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v201 import ChargePoint as ChargePoint201

from ingest.mqtt.client import BufferedClient
from ingest.ocpp.handlers import CentralSystemChargePoint
from ingest.ocpp201.handlers import CentralSystem201ChargePoint

WIRE = "ingest/ocpp/wire.py (Wire.recv/send screen frames, LibraryLog is the logger)"
PAHO = "ingest/mqtt/client.py (BufferedClient's buffered reads and in-place PUBLISH decoding)"

# (class, method): (sha256 of its source, first 12 hex digits; what to re-check)
EXPECTED = {
    (ChargePoint16, "__init__"): ("36c0ca30a278", WIRE),
    (ChargePoint16, "start"): ("e2fe5d4f4c35", WIRE),
    (ChargePoint16, "route_message"): ("fe0bf07bdd2e", WIRE),
    (ChargePoint16, "_handle_call"): ("f9877c77b99a", WIRE),
    (ChargePoint16, "call"): ("29fb6b76027a", WIRE),
    (ChargePoint16, "_get_specific_response"): ("fc24c06ff488", WIRE),
    (ChargePoint16, "_send"): ("3b3ce2162751", WIRE),
    (mqtt.Client, "_sock_recv"): ("c3b9043a46dd", PAHO),
    (mqtt.Client, "_sock_close"): ("638e9c4e5a7f", PAHO),
    (mqtt.Client, "_handle_publish"): ("1bbaa3ef0e3a", PAHO),
}


def source_hash(cls: type, name: str) -> str:
    return hashlib.sha256(inspect.getsource(getattr(cls, name)).encode()).hexdigest()[:12]


@pytest.mark.parametrize(("cls", "name"), list(EXPECTED), ids=lambda v: getattr(v, "__name__", v))
def test_third_party_method_unchanged(cls: type, name: str) -> None:
    expected, recheck = EXPECTED[(cls, name)]
    got = source_hash(cls, name)
    assert got == expected, (
        f"{cls.__module__}.{cls.__qualname__}.{name} changed (source hash {got}, was "
        f"{expected}): re-check {recheck}, then update EXPECTED in {__file__}"
    )


def test_v201_charge_point_adds_no_methods_of_its_own() -> None:
    """The 2.0.1 ChargePoint is the 1.6 one's base with other modules: watched through it."""
    own = {name for name, value in vars(ChargePoint201).items() if inspect.isfunction(value)}
    assert own == set(), f"ocpp.v201.ChargePoint now defines {own}: watch them in EXPECTED"


def test_every_override_is_watched() -> None:
    """A method newly overridden in one of our subclasses joins EXPECTED, or this fails."""
    pairs = (
        (BufferedClient, mqtt.Client),
        (CentralSystemChargePoint, ChargePoint16),
        (CentralSystem201ChargePoint, ChargePoint16),  # v201's ChargePoint adds only its modules
    )
    for ours, theirs in pairs:
        overridden = {
            name
            for cls in ours.__mro__
            if cls.__module__.startswith("ingest.")
            for name, value in vars(cls).items()
            if inspect.isfunction(value) and name != "__init__" and hasattr(theirs, name)
        }
        watched = {name for cls, name in EXPECTED if cls is theirs}
        assert overridden <= watched, f"{ours.__name__} overrides unwatched {overridden - watched}"
