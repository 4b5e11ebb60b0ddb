"""Reports: energy by charger, meter and day from the rollups; sessions; data completeness;
CSV and Parquet downloads of each table."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import cache, charts, data
from dashboard.config import DashboardConfig
from dashboard.widgets import range_picker

SESSION_COLUMNS = [
    *("transaction_id", "charge_point_id", "connector_id", "id_tag", "started_at", "stopped_at"),
    *("energy_kwh", "end_source", "currency", "cost", "tax", "total", "time_of_use"),
    *("soc_change_pct", "range_added_km", "average_kw", "efficiency_pct"),
]
dsn = DashboardConfig.from_env().reader_url
st.title("Reports")
lo, hi = range_picker("report_range", default="Last 7 days")


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
st.plotly_chart(
    charts.energy_bars(by_charger, "day", "energy_kwh", "charge_point_id", "kWh per day"),
    key="charger_energy_chart",
)
st.dataframe(by_charger, hide_index=True)
downloads(by_charger, "energy_by_charger_day")

st.subheader("Energy by meter and day")
by_meter = cache.frame(dsn, "dash_energy_by_meter_day", lo=lo, hi=hi)
st.dataframe(by_meter, hide_index=True)
downloads(by_meter, "energy_by_meter_day")

st.subheader("Sessions")
session_rows = cache.session_report(dsn, lo, hi).select(SESSION_COLUMNS)
st.dataframe(session_rows, hide_index=True)
downloads(session_rows, "sessions")

st.subheader("Data completeness")
completeness = cache.completeness(dsn, lo, hi)
st.caption("Samples received against samples expected per device and UTC day.")
st.dataframe(completeness, hide_index=True)
downloads(completeness, "data_completeness")
