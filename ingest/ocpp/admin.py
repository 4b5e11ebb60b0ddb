"""What the CLI does to the database for the central system: charge points with passwords,
id tags, and operator commands (requested here, delivered by whichever process holds the
charge point's connection)."""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

from psycopg.types.json import Jsonb

from ingest.ocpp.auth import hash_password, identity_from
from sql import db, queries

# Commands an operator may send. Reset, UnlockConnector, ChangeAvailability and TriggerMessage
# exist in both versions (with each version's payload); the rest in one only. The connection
# sends a command in its own version's message and schema (Central.send_command): a 1.6 action
# to a 2.0.1 station, or a payload of the wrong shape, fails with the reason in the row.
ACTIONS_1_6 = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "ChangeConfiguration",
    "GetConfiguration",
    "TriggerMessage",
)
ACTIONS_2_0_1 = (
    "RequestStartTransaction",
    "RequestStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetVariables",
    "SetVariables",
    "TriggerMessage",
    "GetBaseReport",
)
ACTIONS = (*ACTIONS_1_6, *(a for a in ACTIONS_2_0_1 if a not in ACTIONS_1_6))


def save_charge_point(
    dsn: str, charge_point_id: str, password: str | None, profile: int | None = None
) -> None:
    """Add or update a charge point; a profile or password left None keeps what it had."""
    if identity_from(quote(charge_point_id, safe="")) != charge_point_id:
        raise ValueError("an identity is 1-48 printable ASCII characters, without '/'")
    if profile == 2 and not password:
        raise ValueError("security profile 2 is HTTP Basic over TLS: give it a password")
    password_hash = hash_password(password) if password else None
    with db.connect(dsn) as conn:
        conn.execute(
            queries.get("save_charge_point"),
            {
                "charge_point_id": charge_point_id,
                "password_hash": password_hash,
                "security_profile": profile,
            },
        )


MAX_POWER_KW = 1000  # above any charger built; a typo (22000 for 22) is refused, not stored


def save_max_power(dsn: str, charge_point_id: str, connector_id: int | None, kw: float) -> None:
    """Set a connector's maximum power in kW (connector None: the charge point's own). The
    charge point must exist; ValueError says what is wrong."""
    if not math.isfinite(kw) or not 0 < kw <= MAX_POWER_KW:
        raise ValueError(f"maximum power must be above 0 and at most {MAX_POWER_KW} kW, not {kw}")
    if connector_id is not None and not 0 < connector_id <= 1_000_000:
        raise ValueError(f"a connector id is a whole number from 1, not {connector_id}")
    with db.connect(dsn) as conn:
        saved = conn.execute(
            queries.get("save_max_power"),
            {"charge_point_id": charge_point_id, "connector_id": connector_id, "kw": kw},
        ).fetchone()["saved"]
    if not saved:
        raise ValueError(f"no charge point {charge_point_id!r}; add it first")


def save_id_tag(
    dsn: str,
    id_tag: str,
    status: str,
    expiry: datetime | None,
    parent: str | None,
    owner: str | None,
) -> None:
    if expiry is not None and expiry.tzinfo is None:
        raise ValueError("the expiry needs a time zone, e.g. 2025-12-31T23:59:59Z")
    with db.connect(dsn) as conn:
        conn.execute(
            queries.get("save_id_tag"),
            {
                "id_tag": id_tag,
                "status": status,
                "expiry": expiry,
                "parent": parent,
                "owner": owner,
            },
        )


def command_params(
    charge_point_id: str, action: str, payload: object, requested_by: str
) -> dict[str, Any]:
    """The request_command parameters, checked as the CLI and the API both check them: a known
    action and a JSON object (the OCPP schema is checked when it is sent); ValueError if not."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if not isinstance(payload, dict):
        raise ValueError("the payload must be a JSON object")
    return {
        "charge_point_id": charge_point_id,
        "action": action,
        "payload": Jsonb(payload),
        "requested_by": requested_by,
    }


def request_command(
    dsn: str, charge_point_id: str, action: str, payload: object, requested_by: str
) -> int:
    params = command_params(charge_point_id, action, payload, requested_by)
    with db.connect(dsn) as conn:
        row = conn.execute(queries.get("request_command"), params).fetchone()
    return row["id"]


def wait_for_command(dsn: str, command_id: int, timeout_s: float) -> dict[str, Any]:
    """The command's row once it is answered, failed or timed out (or when ``timeout_s`` ends)."""
    deadline = time.monotonic() + timeout_s
    with db.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute(queries.get("command_by_id"), {"id": command_id}).fetchone()
            if row["status"] not in ("requested", "sent") or time.monotonic() > deadline:
                return row
            time.sleep(0.2)
