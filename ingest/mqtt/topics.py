"""Topic names: ``{prefix}/{serial}/{kind}``, prefix ``meters`` unless configured."""

from __future__ import annotations

import re

from ingest.mqtt.payloads import KINDS

# The same rule as meter_registry.serial. fullmatch: "$" would let a trailing newline through.
SERIAL = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def filters(prefix: str, shared_group: str | None = None) -> list[str]:
    """Subscription filters, one per kind; with a group, a shared subscription so several
    ingest processes split the messages between them."""
    share = f"$share/{shared_group}/" if shared_group else ""
    return [f"{share}{prefix}/+/{kind}" for kind in KINDS]


def parse(prefix: str, topic: str) -> tuple[str, str]:
    """(serial, kind) of a topic; ValueError with the reason when it is not one of ours."""
    head, sep, rest = topic.partition(prefix + "/")
    if head or not sep:
        raise ValueError(f"topic is not under {prefix}/")
    serial, _, kind = rest.partition("/")
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not SERIAL.fullmatch(serial):
        raise ValueError(f"bad meter serial {serial!r}")
    return serial, kind


def topic(prefix: str, serial: str, kind: str) -> str:
    return f"{prefix}/{serial}/{kind}"
