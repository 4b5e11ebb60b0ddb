"""Meter live (seed 003's real-time meter energy): a meter's import and export since its local
midnight and its power now, refreshing on its own. The figures are analytics/real_time.py over
the API's named queries, as `/energy/real-time` computes them."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import real_time
from dashboard import cache, freshness, ranges
from dashboard.config import DashboardConfig
from dashboard.site_time import local, site_tz
from dashboard.widgets import meter_picker

config = DashboardConfig.from_env()
dsn = config.reader_url
tz = site_tz()
st.title("Meter live")
freshness.caption(dsn, ["meter"])

meter = meter_picker(dsn, "live_meter", prefer_kind="prosumer")  # the ones that export
serial = meter["serial"]


def _kwh(wh) -> str:
    return f"{float(wh) / 1000:.3f} kWh"


def _kw(w) -> str:
    return f"{float(w) / 1000:.3f} kW"


@st.fragment(run_every=config.refresh_s)
def live() -> None:
    now = ranges.utcnow()
    since = real_time.local_midnight(now, meter["timezone"])
    registers = cache.frame(dsn, "api_latest_registers", meter_id=meter["meter_id"])
    today = cache.frame(dsn, "api_energy_since", meter_id=meter["meter_id"], since=since)
    f = real_time.figures(registers.to_dicts(), today.row(0, named=True), since)
    if f["time"] is None:
        st.info(
            f"No readings from {serial} yet. Check that it publishes to the broker "
            "(`wattline mqtt` must be running); this page refreshes on its own."
        )
        return
    age = int((now - f["time"]).total_seconds())
    st.caption(
        f"Latest reading {local(f['time'], tz)} ({tz}), {max(age, 0)} s before this refresh · "
        f"refreshes every {config.refresh_s:g} s"
    )
    st.markdown(f"**Today** (since {local(since, meter['timezone'], '%Y-%m-%d %H:%M')} "
                f"{meter['timezone']}, the meter's midnight)")  # fmt: skip
    a, b, c = st.columns(3)
    a.metric("Import today", _kwh(f["today_import_wh"]))
    b.metric("Export today", _kwh(f["today_export_wh"]))
    c.metric("Net today (export − import)", _kwh(f["today_net_wh"]))
    st.markdown("**Power now**")
    a, b, c = st.columns(3)
    a.metric("Import power", _kw(f["import_w"]))
    b.metric("Export power", _kw(f["export_w"]))
    c.metric("Net power (export − import)", _kw(f["net_power_w"]))
    rows = pl.DataFrame(
        [
            {
                "Register": r["element"],
                f"Read at ({tz})": local(r["time"], tz),
                "Import register (kWh)": round(float(r["import_wh"]) / 1000, 3),
                "Export register (kWh)": round(float(r["export_wh"]) / 1000, 3),
                "Import power (kW)": round(float(r["import_w"] or 0) / 1000, 3),
                "Export power (kW)": round(float(r["export_w"] or 0) / 1000, 3),
            }
            for r in f["elements"]
        ]
    )
    st.dataframe(rows, hide_index=True, key="live_registers")


live()
