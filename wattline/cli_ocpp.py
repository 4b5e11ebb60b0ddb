"""`wattline ocpp`, `charger`, `meter`, `idtag`, `command` and `simulate chargers`. Wiring
only (`meter add` is here beside `charger add`: both register devices before they connect)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import psycopg

from ingest.clock import aware_time
from wattline.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.ocpp.config import OcppConfig
    from ingest.ocpp.server import CentralSystem

    config = OcppConfig.from_env()
    overrides = {
        "host": args.host,
        "port": args.port,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
        "tls_ca": args.tls_ca,
    }
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if (config.tls_cert is None) != (config.tls_key is None):
        print("wattline ocpp: give both --tls-cert and --tls-key, or neither", file=sys.stderr)
        return 2
    if config.tls_ca is not None and config.tls_cert is None:
        print("wattline ocpp: --tls-ca needs --tls-cert and --tls-key", file=sys.stderr)
        return 2
    scheme = "wss" if config.tls_cert else "ws"
    # Logged, not printed: with WATTLINE_LOG_FORMAT=json every line of the process is JSON.
    logging.getLogger("wattline").info(
        "OCPP 1.6-J central system on %s://%s:%s/ocpp/{id}", scheme, config.host, config.port
    )
    try:
        return asyncio.run(CentralSystem(config, settings.database_url).serve_forever())
    except KeyboardInterrupt:
        return 0


def _charger_add(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.ocpp import admin

    password = args.password
    if args.ask_password:
        password = getpass.getpass(f"password for {args.charge_point_id}: ")
    try:
        admin.save_charge_point(settings.database_url, args.charge_point_id, password, args.profile)
    except (ValueError, psycopg.Error) as exc:
        print(f"wattline charger add: {exc}", file=sys.stderr)
        return 2
    auth = "with a new password" if password else "password unchanged"
    profile = f"security profile {args.profile}" if args.profile else "profile unchanged"
    print(f"charge point {args.charge_point_id} saved, accepted, {auth}, {profile}")
    return 0


def _meter_add(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import meter_admin

    try:
        meter_admin.save_meter(settings.database_url, args.serial, args.kind, args.dual_rate)
    except psycopg.Error as exc:
        print(f"wattline meter add: {exc}", file=sys.stderr)
        return 2
    elements = "A and B" if args.dual_rate else "SINGLE"
    print(f"meter {args.serial} saved ({args.kind}, register {elements})")
    return 0


def _idtag_add(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.ocpp import admin

    try:
        expiry = aware_time(args.expiry) if args.expiry else None
        admin.save_id_tag(
            settings.database_url, args.id_tag, args.status, expiry, args.parent, args.owner
        )
    except (ValueError, psycopg.Error) as exc:
        print(f"wattline idtag add: {exc}", file=sys.stderr)
        return 2
    print(f"id tag {args.id_tag} saved ({args.status})")
    return 0


def _command(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.ocpp import admin

    try:
        payload = json.loads(args.payload)
        command_id = admin.request_command(
            settings.database_url, args.charge_point_id, args.action, payload, "cli"
        )
    except (ValueError, psycopg.Error) as exc:
        print(f"wattline command: {exc}", file=sys.stderr)
        return 2
    print(f"command {command_id} requested")
    if not args.wait:
        return 0
    row = admin.wait_for_command(settings.database_url, command_id, args.wait)
    print(f"{row['status']}: {json.dumps(row['response'] or row['error'])}")
    return 0 if row["status"] == "answered" else 1


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.ocpp.simulator import Fleet, FleetOptions

    if not 0 < args.kwh_min <= args.kwh_max:
        print("wattline simulate chargers: need 0 < --kwh-min <= --kwh-max", file=sys.stderr)
        return 2
    try:
        url, count, names = _simulator_target(args)
    except ValueError as e:
        print(f"wattline simulate chargers: {e}", file=sys.stderr)
        return 2
    options = FleetOptions(
        count=count,
        names=names,
        url=url,
        kwh_min=args.kwh_min,
        kwh_max=args.kwh_max,
        interval_s=args.interval,
        prefix=args.prefix,
        sessions=args.sessions,
        speed=args.speed,
        seed=args.seed,
        auto_start=not args.remote_only,
        ocpp=args.ocpp,
    )
    try:
        asyncio.run(Fleet(options).run())
    except KeyboardInterrupt:
        pass
    return 0


def _simulator_target(args: argparse.Namespace) -> tuple[str, int, tuple[str, ...]]:
    """--url, or the seed simulators' --host/--ws-port/--cp-path: (base URL, count, explicit
    names). --cp-path ocpp/CP-7 is one charger CP-7 at ws://HOST:WS_PORT/ocpp/CP-7 (with
    --count N: CP-7-0001 ... under the same base)."""
    seed_style = args.host or args.ws_port or args.cp_path
    if seed_style and args.url:
        raise ValueError("give --url, or --host/--ws-port/--cp-path, not both")
    count = 5 if args.count is None else args.count
    if not seed_style:
        return args.url or "ws://127.0.0.1:9000/ocpp", count, ()
    base, _, name = (args.cp_path or "ocpp/").strip("/").rpartition("/")
    url = f"ws://{args.host or '127.0.0.1'}:{args.ws_port or 9000}/{base or name}"
    if not args.cp_path:
        return url, count, ()
    if not base:
        raise ValueError(f"--cp-path {args.cp_path!r}: expected a path ending in the id")
    if args.count in (None, 1):
        return url, 1, (name,)
    return url, count, tuple(f"{name}-{i:04d}" for i in range(1, count + 1))


def register(sub: argparse._SubParsersAction, simulate_targets: argparse._SubParsersAction) -> None:
    o = sub.add_parser("ocpp", help="serve OCPP 1.6-J charge points (ws://HOST:9000/ocpp/{id})")
    o.add_argument("--host", help="listen address (default: WATTLINE_OCPP_HOST or 0.0.0.0)")
    o.add_argument("--port", type=int, help="listen port (default: WATTLINE_OCPP_PORT or 9000)")
    o.add_argument("--tls-cert", type=Path, help="certificate chain (PEM) for wss://")
    o.add_argument("--tls-key", type=Path, help="private key (PEM) for wss://")
    o.add_argument(
        "--tls-ca", type=Path, help="CA bundle for client certificates (security profile 3)"
    )
    o.set_defaults(func=_serve)

    c = sub.add_parser("charger", help="register charge points").add_subparsers(
        dest="charger_action", required=True
    )
    add = c.add_parser("add", help="add or update a charge point (accepted)")
    add.add_argument("charge_point_id")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--password", help="HTTP Basic password (security profile 1/2)")
    secret.add_argument("--ask-password", action="store_true", help="prompt for the password")
    add.add_argument(
        "--profile",
        type=int,
        choices=[1, 2, 3],
        help="security profile: 1 Basic, 2 Basic over TLS, 3 TLS client certificate (CN = ID)",
    )
    add.set_defaults(func=_charger_add)

    mt = sub.add_parser("meter", help="register meters").add_subparsers(
        dest="meter_action", required=True
    )
    meter = mt.add_parser("add", help="add or update a meter, with its registers")
    meter.add_argument("serial")
    meter.add_argument("--kind", choices=["prepay", "prosumer"], default="prepay")
    meter.add_argument("--dual-rate", action="store_true", help="registers A and B (else SINGLE)")
    meter.set_defaults(func=_meter_add)

    t = sub.add_parser("idtag", help="manage id tags").add_subparsers(
        dest="idtag_action", required=True
    )
    tag = t.add_parser("add", help="add or update an id tag")
    tag.add_argument("id_tag")
    tag.add_argument(
        "--status", default="Accepted", choices=["Accepted", "Blocked", "Expired", "Invalid"]
    )
    tag.add_argument("--expiry", help="ISO 8601 with a time zone, e.g. 2025-12-31T23:59:59Z")
    tag.add_argument("--parent", help="the parent (group) id tag")
    tag.add_argument("--owner")
    tag.set_defaults(func=_idtag_add)

    from ingest.ocpp.admin import ACTIONS

    cmd = sub.add_parser("command", help="send an operator command to a charge point")
    cmd.add_argument("charge_point_id")
    cmd.add_argument("action", choices=ACTIONS)
    cmd.add_argument("payload", nargs="?", default="{}", help="JSON object, OCPP field names")
    cmd.add_argument(
        "--wait", type=float, default=35, help="seconds to wait for the answer (0: don't)"
    )
    cmd.set_defaults(func=_command)

    s = simulate_targets.add_parser("chargers", help="run simulated OCPP charge points")
    s.add_argument("--count", type=int, help="chargers (default 5; 1 with --cp-path)")
    s.add_argument("--url", help="central system up to /ocpp (default ws://127.0.0.1:9000/ocpp)")
    s.add_argument("--host", help="central system host, with --ws-port (instead of --url)")
    s.add_argument("--ws-port", type=int, help="central system port (default 9000)")
    s.add_argument("--cp-path", help="one charger's path, e.g. ocpp/CP-7 (its id is the last part)")
    s.add_argument(
        "--remote-only",
        action="store_true",
        help="start sessions only when asked (RemoteStartTransaction)",
    )
    s.add_argument("--kwh-min", type=float, default=5.0)
    s.add_argument("--kwh-max", type=float, default=40.0)
    s.add_argument("--interval", type=float, default=10.0, help="seconds between MeterValues")
    s.add_argument("--prefix", default="SIM", help="charge point ids are PREFIX-0001, ...")
    s.add_argument("--sessions", type=int, default=0, help="sessions per charger (0: forever)")
    s.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    s.add_argument("--seed", type=int, help="for a repeatable fleet")
    s.add_argument(
        "--ocpp",
        choices=["1.6", "2.0.1", "mix"],
        default="1.6",
        help="protocol version (mix: every fourth charger on 2.0.1)",
    )
    s.set_defaults(func=_simulate)
