"""Who may see the dashboard and who may send commands, drawn before the chosen page runs.

Reads: with OIDC configured (.streamlit/secrets.toml [auth], Streamlit's st.login) every page
needs a login with the identity provider; else with WATTLINE_DASHBOARD_PASSWORD the shared
password; else they are open. Commands: the operator password, and a name recorded with every
command (the OIDC identity when there is one)."""

from __future__ import annotations

import math

import streamlit as st

from dashboard import auth
from dashboard.config import DashboardConfig


@st.cache_resource
def _global_limiters() -> dict[str, auth.Limiter]:
    """Shared by every session of this server: a new session per guess gains nothing."""
    return {kind: auth.Limiter(*auth.GLOBAL_FAILURES) for kind in ("reader", "operator")}


def _limiters(kind: str) -> tuple[auth.Limiter, auth.Limiter]:
    key = f"{kind}_limiter"
    if key not in st.session_state:
        st.session_state[key] = auth.Limiter(*auth.SESSION_FAILURES)
    return st.session_state[key], _global_limiters()[kind]


def _attempt(kind: str, given: str, password: str | None) -> bool:
    """Check a password unless too many were wrong lately; say why a try was refused."""
    limiters = _limiters(kind)
    wait = max(limiter.wait_s() for limiter in limiters)
    if wait > 0:
        st.error(f"Too many wrong passwords: try again in {math.ceil(wait)} s.")
        return False
    if auth.check_password(given, password):
        return True
    for limiter in limiters:
        limiter.failed()
    st.error("Wrong password")
    return False


def oidc_configured() -> bool:
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


def oidc_identity() -> str | None:
    """The signed-in user's e-mail (or subject) when OIDC is configured and they logged in."""
    if not oidc_configured() or not st.user.get("is_logged_in"):
        return None
    return st.user.get("email") or st.user.get("sub")


def require_reader(config: DashboardConfig) -> None:
    """Stop the run, showing only the sign-in, until the visitor may read."""
    if oidc_configured():
        if not st.user.get("is_logged_in"):
            st.markdown("**wattline**: log in to see the dashboard.")
            st.button("Log in", on_click=st.login)
            st.stop()
        return
    if not config.dashboard_password or st.session_state.get("reader"):
        return
    with st.form("reader_sign_in"):
        given = st.text_input("Dashboard password", type="password", key="reader_password")
        if st.form_submit_button("Sign in"):
            if _attempt("reader", given, config.dashboard_password):
                st.session_state["reader"] = True
                st.rerun()
    st.stop()


def operator_sidebar(config: DashboardConfig) -> None:
    """The sidebar's operator sign-in; st.session_state["operator"] holds the operator's name."""
    identity = oidc_identity()
    if identity:
        st.caption(f"Logged in as {identity}")
        st.button("Log out", on_click=st.logout)
    if not auth.commands_enabled(config.operator_password):
        st.info("Operator commands are disabled: set WATTLINE_OPERATOR_PASSWORD to enable them.")
    elif st.session_state.get("operator"):
        st.success(f"Signed in as operator {st.session_state['operator']}")
        if st.button("Sign out"):
            st.session_state["operator"] = None
            st.rerun()
    else:
        with st.form("sign_in"):
            given = st.text_input("Operator password", type="password", key="operator_password")
            # Recorded with each command sent; the identity provider's name when there is one.
            name = identity or st.text_input("Your name", key="operator_name").strip()
            if st.form_submit_button("Sign in"):
                if not name:
                    st.error("Enter your name: it is recorded with every command you send")
                elif _attempt("operator", given, config.operator_password):
                    st.session_state["operator"] = name[:200]
                    st.rerun()
