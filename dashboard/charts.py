"""Plotly figures. Each takes a frame already reduced by SQL (rollups or time_bucket), so no
chart ever carries more points than it can draw smoothly.

Buckets are drawn at their start in the site's time zone, a bar one bucket wide over the tick
of its start and a fixed tick format: Plotly's own choice for a single bucket was ticks at
fractions of a second ("00:59:59.9995"). A chart with nothing to draw is not drawn: the page
says why instead (``show``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import plotly.express as px
import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import labels

_LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 320}
FEW_BUCKETS = 12  # up to this many, a tick at every bucket start


def show(fig: go.Figure | None, *, empty: str, key: str) -> None:
    """The chart, or ``empty`` (why there is none, and what to do) in its place."""
    if fig is None:
        st.info(empty)
    else:
        st.plotly_chart(fig, key=key)


def local_starts(df: pl.DataFrame, column: str, tz: str) -> pl.DataFrame:
    """``column`` (bucket starts, UTC instants) as wall-clock times in ``tz``."""
    col = pl.col(column)
    if df.schema[column].time_zone is None:
        col = col.dt.replace_time_zone("UTC")
    return df.with_columns(col.dt.convert_time_zone(tz).dt.replace_time_zone(None))


Span = tuple[datetime, datetime]


def time_axis(
    fig: go.Figure, starts: pl.Series, width: timedelta, tz: str, span: Span | None = None
) -> None:
    """An x axis of bucket starts: titled with the zone, ticks at starts, never at bucket ends.
    ``span`` (the range the page asked for, UTC instants) stays in view, so one bucket in a week
    is one bar among seven days, not a bar across the chart."""
    daily = width >= timedelta(days=1)
    fmt = "%d %b %Y" if daily else "%d %b %H:%M"
    fig.update_xaxes(
        type="date", title_text=f"{'Day' if daily else 'Time'} ({tz})", tickformat=fmt,
        hoverformat=fmt,
    )  # fmt: skip
    lo, hi = starts.min() - width / 2, starts.max() + width / 2
    if span is not None:
        zone = ZoneInfo(tz)
        lo = min(lo, span[0].astimezone(zone).replace(tzinfo=None) - width / 2)
        hi = max(hi, span[1].astimezone(zone).replace(tzinfo=None))
    if (hi - lo) / width <= FEW_BUCKETS:
        fig.update_xaxes(tick0=starts.min(), dtick=width.total_seconds() * 1000)
    fig.update_xaxes(range=[lo, hi])


def energy_bars(
    df: pl.DataFrame,
    x: str,
    y: str,
    color: str,
    title: str,
    *,
    width: timedelta,
    tz: str,
    y_title: str = "Energy (kWh)",
    span: Span | None = None,
) -> go.Figure | None:
    """Stacked bars, one per bucket start ``x`` and ``color``; None when there is nothing."""
    if df.is_empty():
        return None
    shown = local_starts(df, x, tz).with_columns(pl.col(color).cast(pl.String))
    fig = px.bar(
        shown,
        x=x,
        y=y,
        color=color,
        title=title,
        labels={y: y_title, color: labels.LABELS.get(color, color), x: f"Start ({tz})"},
    )
    # One bucket wide (less a gap), over the tick of its start: a lone bar is an hour wide, not
    # the whole axis.
    fig.update_traces(width=width.total_seconds() * 1000 * 0.9)
    time_axis(fig, shown[x], width, tz, span)
    fig.update_layout(**_LAYOUT)
    return fig


def power_lines(
    df: pl.DataFrame,
    *,
    width: timedelta,
    tz: str,
    title: str = "Power (kW)",
    span: Span | None = None,
) -> go.Figure | None:
    if df.is_empty():
        return None
    shown = local_starts(df, "bucket", tz).with_columns(pl.col("connector_id").cast(pl.String))
    fig = px.line(
        shown,
        x="bucket",
        y="power_kw",
        color="connector_id",
        title=title,
        markers=shown.height <= FEW_BUCKETS,  # one point draws no line
        labels={"power_kw": "Power (kW)", "connector_id": "Connector", "bucket": f"Start ({tz})"},
    )
    time_axis(fig, shown["bucket"], width, tz, span)
    fig.update_layout(**_LAYOUT)
    return fig


def balance_line(
    df: pl.DataFrame, title: str, *, width: timedelta, tz: str, span: Span | None = None
) -> go.Figure | None:
    if df.is_empty():
        return None
    shown = local_starts(df, "bucket", tz)
    mode = "lines+markers" if shown.height <= FEW_BUCKETS else "lines"
    fig = go.Figure()
    fig.add_scatter(x=shown["bucket"], y=shown["balance"], mode=mode, name="Balance")
    if shown["emergency_credit"].null_count() < shown.height:
        fig.add_scatter(
            x=shown["bucket"], y=shown["emergency_credit"], mode=mode, name="Emergency credit"
        )
    fig.update_yaxes(title_text="Balance (meter currency)")
    time_axis(fig, shown["bucket"], width, tz, span)
    fig.update_layout(title=title, **_LAYOUT)
    return fig
