"""`wattline dashboard`'s process: the health and metrics side server first, then Streamlit's
own command line in this same process (so signals still reach Streamlit directly).

First, because Streamlit runs the app's script only when a browser opens a page: a server
started from the script alone would leave /healthz unanswered until someone looks. The script
asks too (``serve_once``), for `streamlit run` without this wrapper; the first ask wins.
"""

from __future__ import annotations

import sys

from dashboard.config import DashboardConfig
from wattline import logs
from wattline.observe import http
from wattline.observe.health import Health
from wattline.settings import Settings


def start_side_server() -> None:
    settings = Settings.from_env()
    config = DashboardConfig.from_env()
    port = settings.dashboard_http_port
    # Ready means the reader role can query: that is all the pages do.
    http.serve_once("dashboard", lambda: Health(config.reader_url), port)


def main() -> None:
    from streamlit.web import cli

    logs.setup(Settings.from_env().log_format, "dashboard")
    start_side_server()
    sys.argv = ["streamlit", *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    main()
