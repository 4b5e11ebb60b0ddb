"""Every page says how fresh its data are: "Data as of 14:02:11 IST, 3 s ago", from the newest
reading in the database (not the time the page was drawn, which says nothing about the data)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import cache, labels

SOURCES = {"charger": "charger_reading_at", "meter": "meter_reading_at"}
NO_DATA = {
    "charger": "no charger readings yet (start `wattline ocpp` and a charger, or "
    "`wattline simulate chargers`)",
    "meter": "no meter readings yet (start `wattline mqtt` and a meter, or `wattline demo`)",
}


def age_text(seconds: float) -> str:
    """A reading's age in the largest unit that keeps it short: 3 s, 4 min, 2 h 5 min, 3 days."""
    s = max(int(seconds), 0)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    days = s // 86400
    return f"{days} day" if days == 1 else f"{days} days"


def as_of_text(newest: datetime | None, now: datetime, tz: str) -> str | None:
    """ "Data as of 14:02:11 IST, 3 s ago"; the date too when it is not today in the zone.
    None when there is no reading."""
    if newest is None:
        return None
    zone = ZoneInfo(tz)
    at, today = newest.astimezone(zone), now.astimezone(zone)
    clock = f"{at:%H:%M:%S}" if at.date() == today.date() else f"{at:%Y-%m-%d %H:%M:%S}"
    ago = (now - newest).total_seconds()
    when = "in the future (check the device's clock)" if ago < -1 else f"{age_text(ago)} ago"
    return f"Data as of {clock} {labels.zone_abbrev(tz, newest)}, {when}"


def text(row: dict, sources: Iterable[str], tz: str) -> str:
    """The caption for ``row`` of dash_data_as_of, from the newest of ``sources``."""
    sources = list(sources)
    times = [row[SOURCES[s]] for s in sources if row[SOURCES[s]] is not None]
    shown = as_of_text(max(times) if times else None, row["now"], tz)
    if shown is None:
        return "No data yet: " + "; ".join(NO_DATA[s] for s in sources) + "."
    return shown


def caption(dsn: str, sources: Iterable[str] = ("charger", "meter")) -> None:
    """The freshness line under a page's title; call it in the page's live fragment."""
    row = cache.frame(dsn, "dash_data_as_of").row(0, named=True)
    st.caption(f":material/schedule: {text(row, sources, labels.site_tz())}")
