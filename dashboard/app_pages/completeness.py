"""Completeness: a device × day heatmap of samples received against samples expected, each
device from the day it was first seen (analytics/completeness.py, as the Reports page and the
alerts compute it), and a button per charger that asks it for meter values (TriggerMessage
MeterValues, through the operator commands) where a central system holds its connection."""

from __future__ import annotations

from datetime import UTC, timedelta

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import cache, commands, data, freshness, ranges
from dashboard.config import DashboardConfig
from dashboard.site_time import local, site_tz
from dashboard.widgets import range_picker

config = DashboardConfig.from_env()
dsn = config.reader_url
tz = site_tz()
st.title("Data completeness")
freshness.caption(dsn, ("charger", "meter"))

lo, hi = range_picker("compl_range", default="Last 7 days")
report = cache.completeness(dsn, lo, hi)
st.caption(
    f"Samples received against samples expected per device and UTC day, from the day each "
    f"device was first seen · report as of {local(ranges.utcnow(), tz)} ({tz}), recomputed "
    "every minute"
)
if report.is_empty():
    st.info(
        "No samples from any charger or meter in this range: choose a longer range, or check "
        "that `wattline ocpp` and `wattline mqtt` are running."
    )
    st.stop()

# Device × day; a day before the device was first seen has no row, so no cell (None).
grid = report.with_columns(day=pl.col("day").dt.date().cast(pl.String)).pivot(
    on="day", index="device", values="completeness_pct", sort_columns=True
)
# Every UTC day of the range as a column, those no device had yet included, so the map shows
# where each device begins.
first, last = lo.astimezone(UTC).date(), (hi - timedelta(microseconds=1)).astimezone(UTC).date()
days = [str(first + timedelta(days=i)) for i in range((last - first).days + 1)]
grid = grid.with_columns(pl.lit(None, pl.Float64).alias(d) for d in days if d not in grid.columns)
fig = go.Figure(
    go.Heatmap(
        z=grid.select(days).rows(),
        x=days,
        y=grid["device"].to_list(),
        zmin=0,
        zmax=100,
        colorscale="RdYlGn",
        colorbar={"title": "Complete (%)"},
        hovertemplate="%{y}<br>%{x}<br>%{z} % of expected samples<extra></extra>",
        xgap=2,
        ygap=2,
    )
)
fig.update_layout(
    title="Completeness (%) per device and day",
    xaxis={"title": "Day (UTC)", "type": "category"},
    yaxis={"title": "Device", "type": "category", "autorange": "reversed"},
    margin={"l": 10, "r": 10, "t": 40, "b": 10},
    height=max(240, 28 * grid.height + 120),
)
st.plotly_chart(fig, key="compl_heatmap")

st.dataframe(
    report.with_columns(pl.col("day").dt.date()).select(
        pl.col("device_kind").alias("Kind"),
        pl.col("device").alias("Device"),
        pl.col("day").alias("Day (UTC)"),
        pl.col("first_seen")
        .dt.convert_time_zone(tz)
        .dt.replace_time_zone(None)
        .alias(f"First seen ({tz})"),
        pl.col("expected").alias("Samples expected"),
        pl.col("received").alias("Samples received"),
        pl.col("missing").alias("Samples missing"),
        pl.col("completeness_pct").alias("Completeness (%)"),
    ),
    hide_index=True,
    key="compl_table",
)

st.subheader("Ask chargers for their meter values")
connectors = (
    report.filter(pl.col("device_kind") == "connector")
    .group_by("device")
    .agg(pl.col("missing").sum())
    .with_columns(
        charge_point_id=pl.col("device").str.replace(r":\d+$", ""),
        connector_id=pl.col("device").str.extract(r":(\d+)$").cast(pl.Int64),
    )
    .sort("charge_point_id", "connector_id")
)
operator = st.session_state.get("operator")
if connectors.is_empty():
    st.info("No charger sent meter values in this range, so there is nothing to ask for.")
    st.stop()
if not config.operator_password:
    st.info("Operator commands are disabled: set WATTLINE_OPERATOR_PASSWORD to enable them.")
elif not operator:
    st.info("Sign in as operator (sidebar) to ask chargers for their meter values.")
online = dict(
    cache.frame(dsn, "dash_charge_points_online").select("charge_point_id", "connected").rows()
)


def _trigger(cp_id: str, connector_ids: list[int]) -> None:
    """TriggerMessage MeterValues for each of the charger's connectors, if it is online now
    (checked again at the click, uncached: the button may have been drawn minutes ago)."""
    with cache.reader_pool(dsn).connection() as conn:
        now_online = data.frame(conn, "dash_charge_points_online")
    if not now_online.filter(pl.col("charge_point_id") == cp_id)["connected"].any():
        st.error(f"{cp_id} is offline now: no central system holds its connection. Not sent.")
        return
    version = cache.scalar(dsn, "dash_charge_point_version", charge_point_id=cp_id) or "1.6"
    ids = []
    for connector_id in connector_ids:
        body = commands.payload(
            "Trigger", connector_id=connector_id, requested_message="MeterValues", version=version
        )
        ids.append(commands.request(config.writer_url, cp_id, "Trigger", body, operator, version))
    cache.frame.clear()
    st.success(f"Asked {cp_id} for meter values: command(s) {', '.join(map(str, ids))}.")


for cp_id, rows in connectors.group_by("charge_point_id", maintain_order=True):
    cp_id = cp_id[0]
    connector_ids = rows["connector_id"].to_list()
    missing = rows["missing"].sum()
    is_online = bool(online.get(cp_id))
    left, right = st.columns([3, 2])
    left.markdown(
        f"**{cp_id}** (connectors {', '.join(map(str, connector_ids))}) · {missing} samples "
        f"missing · {':green[online]' if is_online else ':gray[offline]'}"
    )
    why = (
        None
        if is_online and operator
        else "offline: no central system holds its connection"
        if not is_online
        else "sign in as operator first"
    )
    if right.button(
        "Ask for meter values",
        key=f"trigger_{cp_id}",
        icon=":material/sync:",
        disabled=why is not None,
        help=why or "sends TriggerMessage MeterValues for each connector",
    ):
        _trigger(cp_id, connector_ids)
