"""Meter health: low balances, meters gone quiet, signal and clock drift, stale readings, a
meter's balance history, and the active and future tariffs."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cache, charts, data, freshness, labels
from dashboard.config import DashboardConfig
from dashboard.widgets import range_picker

config = DashboardConfig.from_env()
dsn, tz = config.reader_url, config.site_tz
st.title("Meter health")
freshness.caption(dsn, ["meter"])

low = cache.frame(dsn, "dash_meters_low_balance")
offline = cache.frame(dsn, "dash_meters_offline")
health = cache.frame(dsn, "dash_meter_health")

a, b, c, d = st.columns(4)
a.metric("Low balance", low.height)
b.metric("Offline (> 1 h)", offline.height)
c.metric("Poor signal (CSQ < 10)", health.filter(pl.col("poor_signal").fill_null(False)).height)
d.metric("Clock drift > 60 s", health.filter(pl.col("drift_flagged").fill_null(False)).height)

st.subheader("Low balance")
labels.show(low, empty="No prepayment meter is below its low-balance threshold.", key="low")
st.subheader("Offline recently")
labels.show(offline, empty="No meter has been offline for more than an hour.", key="offline")
st.subheader("Signal, clock drift and stale readings")
labels.show(
    health,
    empty="No meters yet. Register one with `wattline meter add` (or set "
    "WATTLINE_ALLOW_UNKNOWN_METERS=true), start `wattline mqtt`, or run `wattline demo`.",
    key="health",
)

st.subheader("Balance history")
meters = cache.frame(dsn, "dash_meters").filter(pl.col("kind") == "prepay")
if meters.is_empty():
    st.info(
        "No prepayment meters yet: register one with `wattline meter add --kind prepay`, or run "
        "`wattline demo`."
    )
else:
    serial = st.selectbox("Meter", meters["serial"].to_list(), key="balance_meter")
    meter_id = meters.filter(pl.col("serial") == serial)["meter_id"][0]
    lo, hi = range_picker("balance_range", default="Last 7 days")
    history = cache.series(dsn, "dash_balance_history", lo, hi, meter_id=meter_id)
    charts.show(
        charts.balance_line(
            history, f"Balance of {serial}", width=data.bucket_for(hi - lo), tz=tz, span=(lo, hi)
        ),
        empty=f"{serial} reported no balance in this range: widen the dates, or check that it "
        "publishes to the broker.",
        key="balance_chart",
    )
    daily = cache.frame(dsn, "dash_balance_daily", meter_id=meter_id, lo=lo, hi=hi)
    labels.show(
        daily,
        empty=f"No daily balance for {serial} in this range yet (the daily rollup counts UTC "
        "days): widen the dates.",
        labels={"bucket": "Day"},
        utc_days={"bucket"},
        key="balance_daily",
    )

st.subheader("Tariffs: active and future")
labels.show(
    cache.frame(dsn, "dash_meter_tariffs"),
    empty="No meter has reported a tariff yet: tariffs arrive with the meter's shadow.",
    key="tariffs",
)
