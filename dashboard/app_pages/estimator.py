"""Estimator: the live settlement estimator for a chosen meter and the live session estimator
for every open charging session. Both refresh on their own."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.estimator import LOOKBACK, estimate_recent, window
from analytics.settlement import SettlementConfig
from dashboard import cache, freshness, ranges, sessions, settlement_view
from dashboard.config import DashboardConfig
from wattline.settings import Settings

config = DashboardConfig.from_env()
dsn = config.reader_url
app = Settings.from_env()
settlement = SettlementConfig(app.settlement_minutes, app.token_ratio)
st.title("Estimator")
freshness.caption(dsn)

st.subheader("Settlement estimator")
meters = cache.frame(dsn, "dash_meters")
if meters.is_empty():
    st.info(
        "No meters yet. They appear when they publish to the broker: register one with "
        "`wattline meter add` and start `wattline mqtt`, or run `wattline demo`."
    )
else:
    serial = st.selectbox("Meter", meters["serial"].to_list(), key="estimator_meter")
    meter = meters.filter(pl.col("serial") == serial).row(0, named=True)

    @st.fragment(run_every=config.refresh_s)
    def settlement_estimate() -> None:
        now = ranges.utcnow()
        lo, hi = window(now, meter["timezone"], settlement)
        readings = cache.frame(dsn, "estimator_readings", meter_id=meter["meter_id"], lo=lo, hi=hi)
        est = estimate_recent(readings.to_dicts(), now, meter["timezone"], settlement)
        if est is None:
            minutes = int(LOOKBACK.total_seconds() // 60)
            st.warning(f"No readings from {serial} in the last {minutes} minutes: no estimate.")
            return
        tz = meter["timezone"]
        st.markdown(f"### {est.status.title()} ({est.period_minutes}-minute period)")
        a, b, c, d = st.columns(4)
        a.metric("Current power", f"{est.current_power_kw:.2f} kW")
        b.metric("Mean power (last 10)", f"{est.average_power_kw:.2f} kW")
        c.metric("Tokens at settlement (est.)", f"{est.estimated_tokens}")
        d.metric("Running tokens", f"{est.running_tokens}")
        st.progress(min(est.progress_pct, 100.0) / 100, text=f"Progress {est.progress_pct}%")
        st.markdown(
            f"Start **{settlement_view.clock(est.period_start, tz)}** · "
            f"now **{settlement_view.clock(est.now, tz)}** · "
            f"end **{settlement_view.clock(est.period_end, tz)}** · "
            f"time remaining **{est.time_remaining}** · net energy **{est.net_energy_wh} Wh** "
            f"(estimated {est.estimated_net_wh} Wh at the end). Times in {tz}, the meter's "
            "zone, which its settlement periods follow."
        )

    settlement_estimate()

st.subheader("Live charging sessions")


@st.fragment(run_every=config.refresh_s)
def live_sessions() -> None:
    rows = cache.frame(dsn, "dash_active_sessions").to_dicts()
    if not rows:
        st.info(
            "No charging sessions in progress. Start one from the Chargers page (operator "
            "Start), or run the simulator with `wattline simulate chargers`."
        )
        return
    report = cache.sessions_of(dsn, tuple(r["transaction_id"] for r in rows))
    by_id = {r["transaction_id"]: r for r in report.iter_rows(named=True)}
    for s in (sessions.live_session(r, by_id.get(r["transaction_id"])) for r in rows):
        with st.container(border=True):
            st.markdown(
                f"**{s.charge_point_id} #{s.connector_id}** · session "
                f"{s.transaction_id} · {s.id_tag or 'no tag'} · meter {s.freshness}"
            )
            a, b, c, d = st.columns(4)
            a.metric("Energy", f"{s.energy_kwh if s.energy_kwh is not None else '–'} kWh")
            b.metric("Cost with tax", f"{s.total} {s.currency}" if s.total is not None else "–")
            c.metric(f"SOC ({s.soc_source})", f"{s.soc_pct} %" if s.soc_pct is not None else "–")
            d.metric("Duration", s.duration)


live_sessions()
