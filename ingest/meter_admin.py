"""Meters registered ahead of their first message (`wattline meter add`): unknown meters are
refused unless WATTLINE_ALLOW_UNKNOWN_METERS is on."""

from __future__ import annotations

from sql import db, queries


def save_meter(dsn: str, serial: str, kind: str, dual_rate: bool) -> None:
    """Register a meter (with its registers) before it publishes: unknown meters are refused
    unless WATTLINE_ALLOW_UNKNOWN_METERS is on."""
    elements = ["A", "B"] if dual_rate else ["SINGLE"]
    with db.connect(dsn) as conn:
        conn.execute(
            queries.get("save_meter"), {"serial": serial, "kind": kind, "elements": elements}
        )
