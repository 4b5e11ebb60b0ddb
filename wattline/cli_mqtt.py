"""`wattline mqtt` (meter ingest) and `wattline simulate meters`. Wiring only."""

from __future__ import annotations

import argparse
import asyncio
import signal

from wattline.settings import Settings


def register(sub, simulate_targets) -> None:
    m = sub.add_parser("mqtt", help="ingest smart meter messages from the MQTT broker")
    m.add_argument(
        "--shared-group",
        help="join a shared subscription so several ingest processes split the messages "
        "(default: WATTLINE_MQTT_SHARED_GROUP)",
    )
    m.add_argument("--client-id", help="MQTT client id (default: WATTLINE_MQTT_CLIENT_ID)")
    m.set_defaults(func=_mqtt)

    s = simulate_targets.add_parser("meters", help="publish a simulated meter fleet")
    s.add_argument("--count", type=int, default=10, help="number of meters")
    s.add_argument("--interval", type=float, default=10.0, help="seconds between readings")
    s.add_argument("--steps", type=int, help="stop after this many intervals (default: never)")
    s.add_argument("--seed", type=int, default=0, help="random seed")
    s.add_argument("--serial-prefix", default="SIM", help="meter serials start with this")
    s.set_defaults(func=_simulate)


def _config(args: argparse.Namespace):
    import dataclasses

    from ingest.mqtt.config import MqttConfig

    config = MqttConfig.from_env()
    changes = {}
    if getattr(args, "shared_group", None):
        changes["shared_group"] = args.shared_group
    if getattr(args, "client_id", None):
        changes["client_id"] = args.client_id
    return dataclasses.replace(config, **changes)


def _mqtt(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.mqtt.subscriber import Subscriber
    from ingest.supervise import Watchdog
    from wattline.observe import http
    from wattline.observe.health import Health

    subscriber = Subscriber(_config(args), settings.database_url)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        watchdog = Watchdog(subscriber.writer, stop)  # a dead writer ends the process
        watchdog.start()
        health = Health(settings.database_url, writer=subscriber.writer, loop=loop)
        side = http.serve(health, settings.mqtt_http_port, settings.http_host)
        try:
            await subscriber.run(stop)
        finally:
            code = watchdog.close()
            if side is not None:
                side.stop()
        return code

    return asyncio.run(main())


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.mqtt import simulator

    if args.count < 1 or args.interval <= 0:
        print("wattline simulate meters: --count and --interval must be positive")
        return 2
    try:
        n = simulator.run(
            _config(args), args.count, args.interval, steps=args.steps, seed=args.seed,
            serial_prefix=args.serial_prefix,
        )  # fmt: skip
    except KeyboardInterrupt:
        return 0
    print(f"published {n} messages")
    return 0
