"""Alerts: what the alert rules (analytics/alerts.py, run by `wattline jobs` and
`wattline alerts`) have open now, what cleared in the last 7 days, and webhook deliveries that
failed every attempt."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cache, freshness, labels
from dashboard.config import DashboardConfig

dsn = DashboardConfig.from_env().reader_url
st.title("Alerts")
freshness.caption(dsn)

open_now = cache.frame(dsn, "alerts_open")
resolved = cache.frame(dsn, "alerts_recently_resolved")
dead = cache.frame(dsn, "alert_dead_letters_recent")


def _count(severity: str) -> int:
    return 0 if open_now.is_empty() else open_now.filter(pl.col("severity") == severity).height


a, b, c, d = st.columns(4)
a.metric("Open", open_now.height)
b.metric("Critical", _count("critical"))
c.metric("Warning", _count("warning"))
d.metric("Undelivered (webhook)", dead.height)

st.subheader("Open")
if open_now.is_empty():
    st.success(
        "No open alerts. The rules run with `wattline jobs` (or once with `wattline alerts`); "
        "if neither runs, nothing is checked."
    )
else:
    labels.show(open_now, empty="", labels={"id": "Alert"}, key="alerts_open")
st.subheader("Resolved in the last 7 days")
labels.show(
    resolved,
    empty="No alert was resolved in the last 7 days.",
    labels={"id": "Alert"},
    key="alerts_resolved",
)
if not dead.is_empty():
    st.subheader("Webhook deliveries that failed every attempt")
    labels.show(dead, empty="", labels={"id": "Delivery"}, key="alerts_dead")
