"""Overview: the fleet at a glance, with a link to each page that explains a figure. It is the
landing page, so the other pages keep their own addresses (/chargers works as a link)."""

from __future__ import annotations

import streamlit as st

from dashboard import cache, freshness
from dashboard.config import DashboardConfig

config = DashboardConfig.from_env()
st.title("Overview")


@st.fragment(run_every=config.refresh_s)
def overview() -> None:
    row = cache.frame(config.reader_url, "dash_overview").row(0, named=True)
    freshness.caption(config.reader_url)
    st.caption(f"Refreshes every {config.refresh_s:g} s")
    st.subheader("Charging")
    a, b, c, d = st.columns(4)
    a.metric("Charge points", row["chargers"])
    b.metric("Connected now", row["connected"])
    c.metric("Charging now", row["charging"])
    d.metric("Faulted connectors", row["faulted"])
    st.metric("Energy delivered, last 24 hours", f"{row['energy_24h_kwh']:,.3f} kWh")
    st.page_link("app_pages/chargers.py", label="Chargers", icon=":material/ev_station:")
    st.subheader("Meters")
    a, b, c = st.columns(3)
    a.metric("Meters", row["meters"])
    b.metric("Low balance", row["low_balance"])
    c.metric("Offline", row["offline"])
    st.page_link(
        "app_pages/meter_health.py", label="Meter health", icon=":material/electric_meter:"
    )
    st.subheader("Alerts")
    st.metric("Open alerts", row["open_alerts"])
    if row["open_alerts"]:
        st.warning(
            f"{row['open_alerts']} open alert(s): see the Alerts page.", icon=":material/warning:"
        )
    st.page_link("app_pages/alerts.py", label="Alerts", icon=":material/notifications_active:")
    if not row["chargers"] and not row["meters"]:
        st.info(
            "Nothing has connected yet: start `wattline ocpp` and `wattline mqtt`, register "
            "chargers (`wattline charger add`) and meters (`wattline meter add`), or run "
            "`wattline demo`."
        )


overview()
