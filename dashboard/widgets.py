"""Widgets shared by pages."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from dashboard import cache, labels, ranges


def range_picker(key: str, default: str = "Last 24 hours") -> tuple[datetime, datetime]:
    """A preset range or whole UTC days; the last 24 hours unless the user picks otherwise."""
    options = [*ranges.PRESETS, ranges.CUSTOM]
    label = st.radio("Range", options, index=options.index(default), horizontal=True, key=key)
    now = ranges.utcnow()
    if label != ranges.CUSTOM:
        lo, hi = ranges.preset_range(label, now)
    else:
        # Whole UTC days, as the daily rollups count them (the caption shows them in the site's
        # zone).
        today = now.date()
        picked = st.date_input("Days (UTC)", value=(today, today), key=f"{key}_days")
        first, last = (
            (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (today,) * 2
        )
        lo, hi = ranges.days_range(first, last)
    tz = labels.site_tz()
    st.caption(
        f"From {labels.local(lo, tz, '%Y-%m-%d %H:%M')} to {labels.local(hi, tz, '%Y-%m-%d %H:%M')}"
        f" {labels.zone_abbrev(tz, hi)}"
    )
    return lo, hi


def meter_picker(dsn: str, key: str, prefer_kind: str | None = None) -> dict:
    """A meter chosen from the registry (meter_id, serial, name, kind, timezone), meters of
    ``prefer_kind`` listed first; the page stops with what to do when there are no meters."""
    meters = cache.frame(dsn, "dash_meters")
    if meters.is_empty():
        st.info("No meters yet. They appear when they publish to the broker.")
        st.stop()
    if prefer_kind:
        meters = meters.sort(pl.col("kind") != prefer_kind, "serial")
    serial = st.selectbox("Meter", meters["serial"].to_list(), key=key)
    return next(m for m in meters.iter_rows(named=True) if m["serial"] == serial)
