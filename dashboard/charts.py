"""Plotly figures. Each takes a frame already reduced by SQL (rollups or time_bucket), so no
chart ever carries more points than it can draw smoothly."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 320}


def _empty(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, **_LAYOUT)
    fig.add_annotation(text="no data in this range", showarrow=False, x=0.5, y=0.5)
    return fig


def energy_bars(df: pl.DataFrame, x: str, y: str, color: str, title: str) -> go.Figure:
    if df.is_empty():
        return _empty(title)
    fig = px.bar(df.with_columns(pl.col(color).cast(pl.String)), x=x, y=y, color=color, title=title)
    fig.update_layout(**_LAYOUT)
    return fig


def power_lines(df: pl.DataFrame, title: str = "Power (kW)") -> go.Figure:
    if df.is_empty():
        return _empty(title)
    fig = px.line(
        df.with_columns(pl.col("connector_id").cast(pl.String)),
        x="bucket",
        y="power_kw",
        color="connector_id",
        title=title,
    )
    fig.update_layout(**_LAYOUT)
    return fig


def balance_line(df: pl.DataFrame, title: str) -> go.Figure:
    if df.is_empty():
        return _empty(title)
    fig = go.Figure()
    fig.add_scatter(x=df["bucket"], y=df["balance"], mode="lines", name="balance")
    if df["emergency_credit"].null_count() < df.height:
        fig.add_scatter(
            x=df["bucket"], y=df["emergency_credit"], mode="lines", name="emergency credit"
        )
    fig.update_layout(title=title, **_LAYOUT)
    return fig
