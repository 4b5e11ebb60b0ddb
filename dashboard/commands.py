"""Operator commands from the dashboard: the OCPP payload for each button, and the insert into
``commands`` made with the app's own role (the reader cannot write). The central system holding
the charge point sends it and writes the answer back; the page shows that row."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from sql import db, queries

# Button label -> OCPP action, by the charge point's version.
ACTIONS = {
    "Start": "RemoteStartTransaction",
    "Stop": "RemoteStopTransaction",
    "Reset": "Reset",
    "Unlock": "UnlockConnector",
    "Trigger": "TriggerMessage",
}
ACTIONS_2_0_1 = ACTIONS | {"Start": "RequestStartTransaction", "Stop": "RequestStopTransaction"}
TRIGGER_MESSAGES = ("StatusNotification", "MeterValues", "Heartbeat", "BootNotification")


def action(label: str, version: str = "1.6") -> str:
    return (ACTIONS_2_0_1 if version == "2.0.1" else ACTIONS)[label]


def payload(
    label: str,
    *,
    connector_id: int = 1,
    id_tag: str = "",
    transaction_id: int | str | None = None,
    reset_type: str = "Soft",
    requested_message: str = "StatusNotification",
    version: str = "1.6",
    remote_start_id: int = 1,
) -> dict[str, Any]:
    """The OCPP payload for a command button (OCPP field names), in the charge point's version
    (2.0.1: an EVSE is what 1.6 calls a connector; transactions are named by strings)."""
    if label == "Start" and not id_tag:
        raise ValueError("Start needs an id tag")
    if label == "Stop" and transaction_id is None:
        raise ValueError("Stop needs a transaction: nothing is charging on this connector")
    if label not in ACTIONS:
        raise ValueError(f"unknown command {label!r}")
    if version == "2.0.1":
        return _payload_2_0_1(
            label, connector_id, id_tag, transaction_id, reset_type, requested_message,
            remote_start_id,
        )  # fmt: skip
    if label == "Start":
        return {"connectorId": connector_id, "idTag": id_tag}
    if label == "Stop":
        return {"transactionId": transaction_id}
    if label == "Reset":
        return {"type": reset_type}
    if label == "Unlock":
        return {"connectorId": connector_id}
    return {"requestedMessage": requested_message, "connectorId": connector_id}


def _payload_2_0_1(
    label: str,
    evse_id: int,
    id_tag: str,
    transaction_id: int | str | None,
    reset_type: str,
    requested_message: str,
    remote_start_id: int,
) -> dict[str, Any]:
    if label == "Start":
        token = {"idToken": id_tag, "type": "Central"}
        return {"idToken": token, "remoteStartId": remote_start_id, "evseId": evse_id}
    if label == "Stop":
        return {"transactionId": str(transaction_id)}
    if label == "Reset":
        return {"type": "OnIdle" if reset_type == "Soft" else "Immediate"}
    if label == "Unlock":
        return {"evseId": evse_id, "connectorId": 1}
    return {"requestedMessage": requested_message, "evse": {"id": evse_id}}


def request(
    writer_dsn: str,
    charge_point_id: str,
    label: str,
    body: dict[str, Any],
    requested_by: str,
    version: str = "1.6",
) -> int:
    """Insert the command, with the operator who asked for it; returns its id."""
    with db.connect(writer_dsn) as conn:
        row = conn.execute(
            queries.get("dash_request_command"),
            {
                "charge_point_id": charge_point_id,
                "action": action(label, version),
                "payload": Jsonb(body),
                "requested_by": requested_by,
            },
        ).fetchone()
    return row["id"]
