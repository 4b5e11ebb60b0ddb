"""wattline dashboard: `streamlit run dashboard/streamlit_app.py` (or `wattline dashboard`).
Shared set-up (page config, reader and operator sign-in) happens here, before the chosen page
runs."""

from __future__ import annotations

import streamlit as st

from dashboard import signin
from dashboard.config import DashboardConfig
from dashboard.serve import start_side_server

st.set_page_config(page_title="wattline", page_icon=":material/bolt:", layout="wide")
config = DashboardConfig.from_env()
start_side_server()  # once per process, not per rerun (dashboard/serve.py)

signin.require_reader(config)
with st.sidebar:
    st.markdown("**wattline**")
    signin.operator_sidebar(config)

# Material icons, not emoji: they render the same everywhere, with no emoji font installed.
pages = [
    # The landing page is served at "/" only; the others keep their addresses (/chargers).
    st.Page("app_pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("app_pages/chargers.py", title="Chargers", icon=":material/ev_station:"),
    st.Page("app_pages/meter_health.py", title="Meter health", icon=":material/electric_meter:"),
    st.Page("app_pages/estimator.py", title="Estimator", icon=":material/timer:"),
    st.Page("app_pages/reports.py", title="Reports", icon=":material/bar_chart:"),
    st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications_active:"),
    st.Page(
        "app_pages/energy_compare.py", title="Energy comparison", icon=":material/compare_arrows:"
    ),
    st.Page(
        "app_pages/settlement_history.py",
        title="Settlement history",
        icon=":material/receipt_long:",
    ),
    st.Page("app_pages/meter_live.py", title="Meter live", icon=":material/speed:"),
    st.Page("app_pages/completeness.py", title="Completeness", icon=":material/grid_on:"),
]
st.navigation(pages).run()
