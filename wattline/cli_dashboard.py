"""`wattline dashboard` (the Streamlit app) and `wattline demo` (all of it at once). Wiring."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from wattline.settings import Settings

APP = Path(__file__).resolve().parents[1] / "dashboard" / "streamlit_app.py"


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("dashboard", help="serve the Streamlit dashboard")
    d.add_argument("--port", type=int, default=8501)
    d.add_argument("--address", default="0.0.0.0", help="listen address")
    d.set_defaults(func=_dashboard)

    demo = sub.add_parser(
        "demo", help="migrate, then run ingest, jobs, dashboard and simulated devices together"
    )
    demo.add_argument("--chargers", type=int, default=20, help="simulated charge points")
    demo.add_argument("--meters", type=int, default=50, help="simulated meters")
    demo.add_argument("--days", type=int, default=30, help="days of history to fill first")
    demo.add_argument("--ocpp-port", type=int, default=9000)
    demo.add_argument("--dashboard-port", type=int, default=8501)
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

    if args.chargers < 1 or args.meters < 1 or not 1 <= args.days <= 366:
        print("wattline demo: --chargers and --meters must be positive, --days 1 to 366")
        return 2
    options = demo.DemoOptions(
        chargers=args.chargers,
        meters=args.meters,
        ocpp_port=args.ocpp_port,
        dashboard_port=args.dashboard_port,
        history_days=args.days,
    )
    return demo.run(options, demo_steps(options, settings))


def demo_steps(options, settings: Settings):
    """The demo's database, broker and port work, for wattline.demo.run."""
    from ingest.mqtt.config import MqttConfig
    from wattline import demo, demo_fill, demo_setup

    devices = demo_fill.DemoDevices(
        demo_fill.FillOptions(
            chargers=options.charger_ids(),
            meters=options.meters,
            days=options.history_days,
            ocpp_url=f"ws://127.0.0.1:{options.ocpp_port}/ocpp",
            mqtt=MqttConfig.from_env(),
            meter_prefix=demo.DEVICE_PREFIX,
            interval_s=options.interval_s,
        )
    )
    dsn = settings.database_url

    def prepare() -> None:
        from ingest.mqtt.fleet import make_fleet
        from sql.migrate import migrate

        migrate(dsn, settings.storage, log=print)
        demo.register_devices(dsn, options)
        chargers = [demo_setup.Charger(c, kw) for c, kw in devices.max_power_kw().items()]
        serials = [m.serial for m in make_fleet(options.meters, 0, demo.DEVICE_PREFIX)]
        demo_setup.apply(dsn, chargers, serials)

    ports = [options.ocpp_port] + [settings.mqtt_http_port] * bool(settings.mqtt_http_port)

    return demo.Steps(
        prepare=prepare,
        ingest_ready=lambda: all(demo_fill.ready(port) for port in ports),
        devices=devices,
        history_stored=lambda: demo_fill.store_and_refresh(dsn, devices, print),
        log=lambda line: print(line, flush=True),
        progress=demo_fill.Progress().show,
    )
