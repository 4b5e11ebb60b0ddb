"""Reports: energy by charger, meter and day from the rollups; sessions; data completeness;
CSV and Parquet downloads of each table."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard import cache, charts, data, freshness, labels
from dashboard.config import DashboardConfig
from dashboard.widgets import range_picker

SESSION_COLUMNS = [
    *("transaction_id", "charge_point_id", "connector_id", "id_tag", "started_at", "stopped_at"),
    *("energy_kwh", "end_source", "currency", "cost", "tax", "total", "time_of_use"),
    *("soc_change_pct", "range_added_km", "average_kw", "efficiency_pct"),
]
config = DashboardConfig.from_env()
dsn, tz = config.reader_url, config.site_tz
st.title("Reports")
freshness.caption(dsn)
lo, hi = range_picker("report_range", default="Last 7 days")
WIDEN = "Start the simulator with `wattline simulate chargers` or widen the dates."


def downloads(df: pl.DataFrame, stem: str) -> None:
    left, right = st.columns(2)
    left.download_button("CSV", data.to_csv(df), f"{stem}.csv", "text/csv", key=f"{stem}_csv")
    right.download_button(
        "Parquet",
        data.to_parquet(df),
        f"{stem}.parquet",
        "application/vnd.apache.parquet",
        key=f"{stem}_parquet",
    )


st.subheader("Energy by charger and day")
by_charger = cache.frame(dsn, "dash_energy_by_charger_day", lo=lo, hi=hi)
# Rollup days are UTC days, so the axis is in UTC and says so.
charts.show(
    charts.energy_bars(
        by_charger, "day", "energy_kwh", "charge_point_id", "Energy per day (kWh)",
        width=timedelta(days=1), tz="UTC", span=(lo, hi),
    ),
    empty=f"No charging energy in this range. {WIDEN}",
    key="charger_energy_chart",
)  # fmt: skip
labels.show(by_charger, empty=f"No charging energy in this range. {WIDEN}", key="by_charger")
downloads(by_charger, "energy_by_charger_day")

st.subheader("Energy by meter and day")
by_meter = cache.frame(dsn, "dash_energy_by_meter_day", lo=lo, hi=hi)
labels.show(
    by_meter,
    empty="No meter energy in this range. Start a meter publishing to `wattline mqtt` (or run "
    "`wattline demo`), or widen the dates.",
    key="by_meter",
)
downloads(by_meter, "energy_by_meter_day")

st.subheader("Sessions")
session_rows = cache.session_report(dsn, lo, hi).select(SESSION_COLUMNS)
labels.show(session_rows, empty=f"No sessions in this range. {WIDEN}", key="sessions")
downloads(session_rows, "sessions")

st.subheader("Data completeness")
completeness = cache.completeness(dsn, lo, hi)
st.caption("Samples received against samples expected per device and UTC day.")
labels.show(
    completeness,
    empty="No devices sent data in this range, so there is nothing to measure. "
    "Start the simulators (`wattline simulate chargers`) or widen the dates.",
    key="completeness",
)
downloads(completeness, "data_completeness")
