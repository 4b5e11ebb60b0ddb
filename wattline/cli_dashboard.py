"""`wattline dashboard` (the Streamlit app) and `wattline demo` (all of it at once). Wiring."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from wattline.settings import Settings

APP = Path(__file__).resolve().parents[1] / "dashboard" / "streamlit_app.py"
DEMO_ID_TAGS = 50  # the charger simulator picks TAG-0001 ... TAG-0049


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("dashboard", help="serve the Streamlit dashboard")
    d.add_argument("--port", type=int, default=8501)
    d.add_argument("--address", default="0.0.0.0", help="listen address")
    d.set_defaults(func=_dashboard)

    demo = sub.add_parser(
        "demo", help="migrate, then run ingest, jobs, dashboard and simulated devices together"
    )
    demo.add_argument("--chargers", type=int, default=4, help="simulated charge points")
    demo.add_argument("--meters", type=int, default=8, help="simulated meters")
    demo.add_argument("--ocpp-port", type=int, default=9000)
    demo.add_argument("--dashboard-port", type=int, default=8501)
    demo.add_argument("--speed", type=float, default=30.0, help="simulated seconds per second")
    demo.set_defaults(func=_demo)


def _dashboard(args: argparse.Namespace, settings: Settings) -> int:
    # dashboard.serve starts the health side server, then Streamlit in the same process.
    argv = [
        sys.executable, "-m", "dashboard.serve", "run", str(APP),
        "--server.port", str(args.port), "--server.address", args.address,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    print(f"dashboard on http://{args.address}:{args.port}", flush=True)
    # exec, not a child: signals reach Streamlit directly and no wrapper process lingers.
    os.execv(sys.executable, argv)
    return 0  # not reached


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from wattline import demo

    options = demo.DemoOptions(
        chargers=args.chargers,
        meters=args.meters,
        ocpp_port=args.ocpp_port,
        dashboard_port=args.dashboard_port,
        speed=args.speed,
    )

    def prepare() -> None:
        from ingest.ocpp import admin
        from sql import db
        from sql.migrate import migrate

        migrate(settings.database_url, settings.storage, log=print)
        for n in range(1, DEMO_ID_TAGS):
            admin.save_id_tag(settings.database_url, f"TAG-{n:04d}", "Accepted", None, None, None)
        demo.register_devices(settings.database_url, options)
        # The simulated chargers stamp wall-clock time but charge --speed times as fast: give
        # them that power, or their energy is held as suspect (migration 0018).
        with db.connect(settings.database_url, autocommit=True) as conn:
            conn.cursor().executemany(
                "INSERT INTO wattline.charge_points (id, max_power_kw) VALUES (%s, %s)"
                " ON CONFLICT (id) DO UPDATE SET max_power_kw = EXCLUDED.max_power_kw",
                [(f"DEMO-{n:04d}", 22 * args.speed) for n in range(1, args.chargers + 1)],
            )

    return demo.run(options, prepare, lambda line: print(line, flush=True))
