"""Sign-in through AppTest: with WATTLINE_DASHBOARD_PASSWORD set, nothing but the sign-in shows
until the right password; wrong passwords are refused and, past the limits, every try waits."""

from __future__ import annotations

import pytest
from dashboard_app import APP
from streamlit.testing.v1 import AppTest

from dashboard.auth import Limiter

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
    return any("### CP-1" in m.value for m in at.markdown) or bool(at.dataframe)


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
