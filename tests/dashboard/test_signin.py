"""Sign-in through AppTest: with WATTLINE_DASHBOARD_PASSWORD set, nothing but the sign-in shows
until the right password; wrong passwords are refused and, past the limits, every try waits."""

from __future__ import annotations

import pytest
from dashboard_app import APP
from streamlit.testing.v1 import AppTest

from dashboard.auth import Limiter
from sql import db

PASSWORD = "read-only-pw"


@pytest.fixture
def reader_env(dashboard_env, monkeypatch):
    monkeypatch.setenv("WATTLINE_DASHBOARD_PASSWORD", PASSWORD)
    return dashboard_env


def _session() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def _sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input(key="reader_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def _shows_data(at: AppTest) -> bool:
    # Charger cards, tables, or the overview's figures.
    return any("### CP-1" in m.value for m in at.markdown) or bool(at.dataframe or at.metric)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_pages_show_only_the_sign_in_until_the_right_password(reader_env):
    at = _session()
    assert not _shows_data(at) and not at.sidebar.text_input  # not even the operator sign-in
    at.switch_page("app_pages/reports.py").run()
    assert not _shows_data(at) and [t.key for t in at.text_input] == ["reader_password"]
    _sign_in(at, "guess")
    assert _errors(at) == ["Wrong password"] and not _shows_data(at)
    _sign_in(at, PASSWORD)
    at.switch_page("app_pages/chargers.py").run()
    assert _shows_data(at)
    assert any("### CP-1" in m.value for m in at.markdown)


def test_five_wrong_passwords_lock_the_session_out(reader_env):
    at = _session()
    for _ in range(5):
        assert _errors(_sign_in(at, "guess")) == ["Wrong password"]
    # The right password now waits too: guessing on gains nothing.
    assert _errors(_sign_in(at, PASSWORD)) == ["Too many wrong passwords: try again in 60 s."]
    assert not _shows_data(at)


def test_new_sessions_per_guess_are_locked_out_together(reader_env):
    for _ in range(4):  # 4 sessions x 5 wrong passwords: the 20 a minute all sessions may try
        at = _session()
        for _ in range(5):
            _sign_in(at, "guess")
    fresh = _sign_in(_session(), PASSWORD)
    assert _errors(fresh) == ["Too many wrong passwords: try again in 60 s."]
    assert not _shows_data(fresh)


def test_the_operator_sign_in_is_limited_and_needs_a_name(dashboard_env):
    at = _session()
    at.sidebar.text_input(key="operator_password").input("s3cret")
    at.sidebar.button[0].click().run()
    assert [e.value for e in at.sidebar.error] == [
        "Enter your name: it is recorded with every command you send"
    ]
    at.sidebar.text_input(key="operator_name").input("Asha Rao")
    for _ in range(5):
        at.sidebar.text_input(key="operator_password").input("wrong")
        at.sidebar.button[0].click().run()
    at.sidebar.text_input(key="operator_password").input("s3cret")
    at.sidebar.button[0].click().run()
    assert [e.value for e in at.sidebar.error] == ["Too many wrong passwords: try again in 60 s."]
    assert not at.sidebar.success


def test_lock_outs_in_a_row_double_and_end():
    now = [0.0]
    limiter = Limiter(5, 60.0, clock=lambda: now[0])
    for _ in range(4):
        limiter.failed()
    assert limiter.wait_s() == 0  # four wrong passwords: the fifth try is still checked
    limiter.failed()
    assert limiter.wait_s() == 60
    now[0] = 60.0
    assert limiter.wait_s() == 0
    for _ in range(5):  # straight after the first lock-out: twice as long
        limiter.failed()
    assert limiter.wait_s() == 120
    now[0] = 1000.0  # quiet for long after: back to one window
    for _ in range(5):
        limiter.failed()
    assert limiter.wait_s() == 60


OIDC = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-random-secret",
        "client_id": "wattline",
        "client_secret": "idp-secret",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
}


def _oidc_session(user: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets.update(OIDC)
    at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def test_with_oidc_only_the_login_shows_until_the_provider_signs_the_user_in(reader_env):
    at = _oidc_session({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in"] and not _shows_data(at)
    assert not at.text_input  # OIDC takes the shared password's place


def test_an_oidc_operator_is_recorded_by_their_identity(dashboard_env):
    at = _oidc_session({"is_logged_in": True, "email": "asha@example.com"})
    assert _shows_data(at)
    assert any("Logged in as asha@example.com" in c.value for c in at.sidebar.caption)
    assert [t.key for t in at.sidebar.text_input] == ["operator_password"]  # no name to enter
    at.sidebar.text_input(key="operator_password").input("s3cret")
    [b for b in at.sidebar.button if b.label == "Sign in"][0].click().run()
    assert any("operator asha@example.com" in s.value for s in at.sidebar.success)
    at.switch_page("app_pages/chargers.py").run()
    at.selectbox(key="cmd_label").select("Reset")
    [b for b in at.get("button") if getattr(b, "label", "") == "Send"][0].click().run()
    assert not at.exception, at.exception
    with db.connect(dashboard_env) as conn:
        row = conn.execute("SELECT action, requested_by FROM commands ORDER BY id DESC LIMIT 1")
        assert row.fetchone() == {"action": "Reset", "requested_by": "asha@example.com"}
