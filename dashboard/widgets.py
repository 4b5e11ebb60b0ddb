"""Widgets shared by pages."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from dashboard import labels, ranges


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
