"""Operator commands from the dashboard: the OCPP payload for each button, and the insert into
``commands`` made with the app's own role (the reader cannot write). The central system holding
the charge point sends it and writes the answer back; the page shows that row."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from sql import db, queries

# Button label -> OCPP action.
ACTIONS = {
    "Start": "RemoteStartTransaction",
    "Stop": "RemoteStopTransaction",
    "Reset": "Reset",
    "Unlock": "UnlockConnector",
    "Trigger": "TriggerMessage",
}
TRIGGER_MESSAGES = ("StatusNotification", "MeterValues", "Heartbeat", "BootNotification")


def payload(
    label: str,
    *,
    connector_id: int = 1,
    id_tag: str = "",
    transaction_id: int | None = None,
    reset_type: str = "Soft",
    requested_message: str = "StatusNotification",
) -> dict[str, Any]:
    """The OCPP 1.6 payload for a command button (OCPP field names)."""
    if label == "Start":
        if not id_tag:
            raise ValueError("Start needs an id tag")
        return {"connectorId": connector_id, "idTag": id_tag}
    if label == "Stop":
        if transaction_id is None:
            raise ValueError("Stop needs a transaction: nothing is charging on this connector")
        return {"transactionId": transaction_id}
    if label == "Reset":
        return {"type": reset_type}
    if label == "Unlock":
        return {"connectorId": connector_id}
    if label == "Trigger":
        return {"requestedMessage": requested_message, "connectorId": connector_id}
    raise ValueError(f"unknown command {label!r}")


def request(
    writer_dsn: str, charge_point_id: str, label: str, body: dict[str, Any], requested_by: str
) -> int:
    """Insert the command, with the operator who asked for it; returns its id."""
    with db.connect(writer_dsn) as conn:
        row = conn.execute(
            queries.get("dash_request_command"),
            {
                "charge_point_id": charge_point_id,
                "action": ACTIONS[label],
                "payload": Jsonb(body),
                "requested_by": requested_by,
            },
        ).fetchone()
    return row["id"]
