"""wattline dashboard: `streamlit run dashboard/streamlit_app.py` (or `wattline dashboard`).
Shared set-up (page config, operator sign-in) happens here, before the chosen page runs."""

from __future__ import annotations

import streamlit as st

from dashboard import auth
from dashboard.config import DashboardConfig

st.set_page_config(page_title="wattline", page_icon="⚡", layout="wide")
config = DashboardConfig.from_env()

with st.sidebar:
    st.markdown("**wattline**")
    if not auth.commands_enabled(config.operator_password):
        st.info("Operator commands are disabled: set WATTLINE_OPERATOR_PASSWORD to enable them.")
    elif st.session_state.get("operator"):
        st.success("Signed in as operator")
        if st.button("Sign out"):
            st.session_state["operator"] = False
            st.rerun()
    else:
        with st.form("sign_in"):
            given = st.text_input("Operator password", type="password")
            if st.form_submit_button("Sign in"):
                st.session_state["operator"] = auth.check_password(given, config.operator_password)
                if not st.session_state["operator"]:
                    st.error("Wrong password")
                else:
                    st.rerun()

pages = [
    st.Page("app_pages/chargers.py", title="Chargers", icon="🔌", default=True),
    st.Page("app_pages/meter_health.py", title="Meter health", icon="📟"),
    st.Page("app_pages/estimator.py", title="Estimator", icon="⏱️"),
    st.Page("app_pages/reports.py", title="Reports", icon="📊"),
]
st.navigation(pages).run()
