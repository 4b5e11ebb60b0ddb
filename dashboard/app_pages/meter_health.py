"""Meter health: low balances, meters gone quiet, signal and clock drift, stale readings, a
meter's balance history, and the active and future tariffs."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cache, charts
from dashboard.config import DashboardConfig
from dashboard.widgets import range_picker

dsn = DashboardConfig.from_env().reader_url
st.title("Meter health")

low = cache.frame(dsn, "dash_meters_low_balance")
offline = cache.frame(dsn, "dash_meters_offline")
health = cache.frame(dsn, "dash_meter_health")

a, b, c, d = st.columns(4)
a.metric("Low balance", low.height)
b.metric("Offline (> 1 h)", offline.height)
c.metric("Poor signal (CSQ < 10)", health.filter(pl.col("poor_signal").fill_null(False)).height)
d.metric("Clock drift > 60 s", health.filter(pl.col("drift_flagged").fill_null(False)).height)

st.subheader("Low balance")
st.dataframe(low, hide_index=True)
st.subheader("Offline recently")
st.dataframe(offline, hide_index=True)
st.subheader("Signal, clock drift and stale readings")
st.dataframe(health, hide_index=True)

st.subheader("Balance history")
meters = cache.frame(dsn, "dash_meters").filter(pl.col("kind") == "prepay")
if meters.is_empty():
    st.info("No prepayment meters yet.")
else:
    serial = st.selectbox("Meter", meters["serial"].to_list(), key="balance_meter")
    meter_id = meters.filter(pl.col("serial") == serial)["meter_id"][0]
    lo, hi = range_picker("balance_range", default="Last 7 days")
    history = cache.series(dsn, "dash_balance_history", lo, hi, meter_id=meter_id)
    st.plotly_chart(charts.balance_line(history, f"Balance of {serial}"), key="balance_chart")
    daily = cache.frame(dsn, "dash_balance_daily", meter_id=meter_id, lo=lo, hi=hi)
    st.dataframe(daily, hide_index=True)

st.subheader("Tariffs: active and future")
st.dataframe(cache.frame(dsn, "dash_meter_tariffs"), hide_index=True)
