"""wattline dashboard: `streamlit run dashboard/streamlit_app.py` (or `wattline dashboard`).
Shared set-up (page config, reader and operator sign-in) happens here, before the chosen page
runs."""

from __future__ import annotations

import streamlit as st

from dashboard import signin
from dashboard.config import DashboardConfig
from wattline.observe import http
from wattline.observe.health import Health

st.set_page_config(page_title="wattline", page_icon="⚡", layout="wide")
config = DashboardConfig.from_env()
# Once per process, not per rerun: /healthz, /readyz (the reader role's connection), /metrics.
http.serve_once(
    "dashboard",
    lambda: Health(config.reader_url),
    http.port_from_env("WATTLINE_DASHBOARD_HTTP_PORT", 9103),
)

signin.require_reader(config)
with st.sidebar:
    st.markdown("**wattline**")
    signin.operator_sidebar(config)

pages = [
    st.Page("app_pages/chargers.py", title="Chargers", icon="🔌", default=True),
    st.Page("app_pages/meter_health.py", title="Meter health", icon="📟"),
    st.Page("app_pages/estimator.py", title="Estimator", icon="⏱️"),
    st.Page("app_pages/reports.py", title="Reports", icon="📊"),
]
st.navigation(pages).run()
