"""Energy comparison (seed 002's time series for chosen chargers and dates): energy per bucket
per charge point from the connector energy rollups, through the named query charger_energy
(sql/queries/analytics.sql), the same one the charger reports use."""

from __future__ import annotations

from datetime import timedelta

import plotly.express as px
import polars as pl
import streamlit as st

from dashboard import cache, freshness, ranges
from dashboard.config import DashboardConfig
from dashboard.site_time import local, localize, site_tz
from dashboard.widgets import range_picker

dsn = DashboardConfig.from_env().reader_url
tz = site_tz()
st.title("Energy comparison")
freshness.caption(dsn, ["charger"])

chargers = cache.frame(dsn, "dash_charge_points_online")
if chargers.is_empty():
    st.info("No charge points yet. They appear when they connect to `wattline ocpp`.")
    st.stop()
ids = chargers["charge_point_id"].to_list()
chosen = st.multiselect(
    "Charge points", ids, default=ids[:3], key="cmp_chargers", placeholder="Choose chargers"
)
lo, hi = range_picker("cmp_range", default="Last 7 days")
# Hours up to a week (168 bars per charger at most), days beyond; the user may override.
widths = {"Hour": "hourly", "Day (UTC)": "daily"}
width = st.radio(
    "Bucket", list(widths), index=0 if hi - lo <= timedelta(days=7) else 1, horizontal=True,
    key="cmp_width",
)  # fmt: skip
if not chosen:
    st.info("Choose one or more charge points above to compare their energy.")
    st.stop()

energy = cache.frame(
    dsn, "charger_energy", width=widths[width], charge_point_ids=chosen, lo=lo, hi=hi
)
latest = cache.scalar(dsn, "dash_charger_latest_reading", charge_point_ids=chosen)
st.caption(
    f"Latest energy reading of these chargers: {local(latest, tz)} ({tz}) · page read at "
    f"{local(ranges.utcnow(), tz)} · rollups refresh every minute"
)
if energy.is_empty():
    st.info(
        "No energy from these charge points in this range: choose a longer range or other "
        "chargers (energy appears once a charger sends meter values while charging)."
    )
    st.stop()

daily = widths[width] == "daily"
x_label = "Day (UTC)" if daily else f"Hour starting ({tz})"
shown = energy.with_columns(energy_kwh=(pl.col("energy_wh").cast(pl.Float64) / 1000).round(3))
shown = (
    shown.with_columns(pl.col("bucket").dt.date())
    if daily
    else localize(shown, tz)
)  # fmt: skip
totals = shown.group_by("charge_point_id").agg(pl.col("energy_kwh").sum()).sort("charge_point_id")
silent = sorted(set(chosen) - set(totals["charge_point_id"]))
if silent:
    st.caption(f"No energy in this range from {', '.join(silent)}.")
columns = st.columns(min(len(totals), 4))
for i, row in enumerate(totals.iter_rows(named=True)):
    columns[i % len(columns)].metric(
        f"{row['charge_point_id']}, total", f"{row['energy_kwh']:.3f} kWh"
    )

fig = px.bar(
    shown.to_pandas(),
    x="bucket",
    y="energy_kwh",
    color="charge_point_id",
    barmode="group",
    labels={"bucket": x_label, "energy_kwh": "Energy (kWh)", "charge_point_id": "Charge point"},
    title=f"Energy per {'day' if daily else 'hour'} (kWh)",
)
# One bucket or a year: dates as dates, hours without seconds on the ticks.
fig.update_xaxes(tickformat="%Y-%m-%d" if daily else "%b %d %H:%M")
fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=360)
st.plotly_chart(fig, key="cmp_chart")

table = shown.select(
    pl.col("bucket").alias(x_label),
    pl.col("charge_point_id").alias("Charge point"),
    pl.col("energy_kwh").alias("Energy (kWh)"),
    pl.col("readings").alias("Readings"),
)
st.dataframe(table, hide_index=True, key="cmp_table")
