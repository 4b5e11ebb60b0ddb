"""A real browser: headless Chromium loads each page of the running app (`streamlit run` on a
free port against a seeded database), finds the text a user looks for and no error, and saves
a screenshot under tests/artifacts/dashboard/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import CHROMIUM, chromium
from dashboard_app import APP
from processes import free_port, stop

ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "dashboard"
# Text outside tables: st.dataframe draws on a canvas, so its cells are not page text.
PAGES = {
    "overview": ("", ["Overview", "Charge points", "Energy delivered, last 24 hours"]),
    "chargers": (
        "chargers",  # its own address, not only the landing page: no "Page not found"
        ["CP-1", "CP-2", "GroundFailure", "session 2: 3.000 kWh", "2 session(s) started"],
    ),
    "meter_health": ("meter_health", ["Meter health", "Low balance", "LOW-0001", "Tariffs"]),
    "estimator": ("estimator", ["Settlement estimator", "Live charging sessions", "44.25 INR"]),
    "reports": ("reports", ["Energy by charger and day", "Sessions", "Parquet"]),
    "alerts": ("alerts", ["Alerts", "No open alerts"]),
    # seed.sql: CP-1 has energy in the last 7 days (whose figure depends on the hour the test
    # runs at; test_new_pages checks the page's figures by hand); no settled periods (the page
    # says what to do); the prosumer SOLAR-0001, listed first, exports 4.30 kW.
    "energy_compare": (
        "energy_compare",
        ["Energy comparison", "CP-1, total", "Energy per hour (kWh)"],
    ),
    "settlement_history": (
        "settlement_history",
        ["Settlement history", "wattline settle SOLAR-0001"],
    ),
    "meter_live": ("meter_live", ["Meter live", "Export power", "4.300 kW"]),
    "completeness": (
        "completeness",
        ["Data completeness", "Completeness (%) per device and day", "Ask for"],
    ),
}

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture
def app_url(seeded_url: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLINE_")}
    env.update(DATABASE_URL=seeded_url, WATTLINE_OPERATOR_PASSWORD="s3cret")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", APP, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        stop(proc)


def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("streamlit did not become healthy")


def test_every_page_renders_in_a_real_browser(app_url: str) -> None:
    with chromium() as page:
        for name, (path, needles) in PAGES.items():
            page.goto(f"{app_url}/{path}")
            # Every page says how fresh its data are, in the site's zone (IST by default).
            # Generous: under a full CI run a page with a chart can take long to draw.
            text = page.wait_for_text([*needles, "Data as of", " IST, "], timeout_s=90)
            page.screenshot(ARTIFACTS / f"{name}.png")
            assert page.errors() == [], name
            assert not re.search(r"\bNone\b", text), name
