"""Settlement history (seed 003's /energy/settlement/history): a meter's settled periods in a
range, coloured by their status (EXPORTING, IMPORTING or IDLE, as analytics/settlement.py
classifies a period's net energy), through the API's own named query api_settlement_history."""

from __future__ import annotations

import plotly.express as px
import polars as pl
import streamlit as st

from dashboard import cache, freshness, ranges
from dashboard.config import DashboardConfig
from dashboard.site_time import local, localize, site_tz
from dashboard.widgets import meter_picker, range_picker

MAX_PERIODS = 20_000  # 70 days of 5-minute periods; a longer range shows the newest
STATUS_COLOURS = {"EXPORTING": "#2e7d32", "IMPORTING": "#c62828", "IDLE": "#9e9e9e"}

dsn = DashboardConfig.from_env().reader_url
tz = site_tz()
st.title("Settlement history")
freshness.caption(dsn, ["meter"])

meter = meter_picker(dsn, "settle_meter", prefer_kind="prosumer")  # the ones that export
serial = meter["serial"]
lo, hi = range_picker("settle_range", default="Last 24 hours")
periods = cache.frame(
    dsn,
    "api_settlement_history",
    meter_id=meter["meter_id"],
    lo=lo,
    hi=hi,
    limit=MAX_PERIODS,
    offset=0,
)
last = periods["computed_at"].max() if not periods.is_empty() else None
st.caption(
    f"Last settled at {local(last, tz)} ({tz}) · page read at {local(ranges.utcnow(), tz)} · "
    "`wattline jobs` settles each period once it ends"
)
if periods.is_empty():
    st.info(
        f"No settled periods for {serial} in this range. Choose a longer range, or settle it "
        f"now with `wattline settle {serial}` (periods are settled by `wattline jobs`)."
    )
    st.stop()
if periods.height == MAX_PERIODS:
    st.warning(f"Showing the newest {MAX_PERIODS} periods only: choose a shorter range.")

shown = localize(
    periods.select(
        "period_start",
        "period_end",
        "status",
        *(
            (pl.col(c).cast(pl.Float64) / 1000).round(3).alias(c.replace("_wh", "_kwh"))
            for c in ("import_wh", "export_wh", "net_wh")
        ),
        pl.col("tokens").cast(pl.Float64),
        "computed_at",
    ).sort("period_start"),
    tz,
)
a, b, c, d = st.columns(4)
a.metric("Periods", periods.height)
b.metric("Net energy (export − import)", f"{shown['net_kwh'].sum():.3f} kWh")
c.metric("Tokens", f"{shown['tokens'].sum():.3f}")
d.metric("Exporting periods", shown.filter(pl.col("status") == "EXPORTING").height)

fig = px.bar(
    shown.to_pandas(),
    x="period_start",
    y="net_kwh",
    color="status",
    color_discrete_map=STATUS_COLOURS,
    category_orders={"status": list(STATUS_COLOURS)},
    labels={
        "period_start": f"Period start ({tz})",
        "net_kwh": "Net energy (kWh, export − import)",
        "status": "Status",
    },
    title=f"Settled periods of {serial}",
)
fig.update_xaxes(tickformat="%b %d %H:%M")
fig.update_layout(margin={"l": 10, "r": 10, "t": 40, "b": 10}, height=360, bargap=0.1)
st.plotly_chart(fig, key="settle_chart")

st.dataframe(
    shown.sort("period_start", descending=True).rename(
        {
            "period_start": f"Start ({tz})",
            "period_end": f"End ({tz})",
            "status": "Status",
            "import_kwh": "Import (kWh)",
            "export_kwh": "Export (kWh)",
            "net_kwh": "Net (kWh)",
            "tokens": "Tokens",
            "computed_at": f"Settled at ({tz})",
        }
    ),
    hide_index=True,
    key="settle_table",
)
