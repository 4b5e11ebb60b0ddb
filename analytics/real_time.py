"""A meter's real-time energy (seed 003's /dashboard/real-time-energy): its power now, summed
over its enabled registers' latest readings, and its import and export since local midnight.
The API (`/energy/real-time`) and the dashboard's Meter live page both compute it here, over
the named queries api_latest_registers and api_energy_since."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


def local_midnight(now: datetime, tz: str) -> datetime:
    """The start of ``now``'s day in the meter's zone: "today" is the meter's local day."""
    local = now.astimezone(ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def figures(
    registers: Iterable[Mapping[str, Any]], today: Mapping[str, Any], since: datetime
) -> dict[str, Any]:
    """registers: each enabled register's latest reading (element, time, import/export Wh and
    W); today: the meter's import_wh and export_wh since ``since``. Power in W, energy in Wh;
    net is export minus import, as settlement counts it."""
    registers = list(registers)
    import_w = sum(r["import_w"] or 0 for r in registers)
    export_w = sum(r["export_w"] or 0 for r in registers)
    return {
        "time": max((r["time"] for r in registers), default=None),
        "import_w": import_w,
        "export_w": export_w,
        "net_power_w": export_w - import_w,
        "elements": registers,
        "since": since,
        "today_import_wh": today["import_wh"],
        "today_export_wh": today["export_wh"],
        "today_net_wh": today["export_wh"] - today["import_wh"],
    }
