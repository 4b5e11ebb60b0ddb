"""`wattline tariff set`, `report sessions`, `estimator` and `settle`. Wiring only: parse and
check the arguments, then call analytics/. Bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import psycopg

from ingest.clock import aware_time
from wattline.settings import Settings

_CONNECTOR = re.compile(r"^(?P<cp>[^:]{1,48}):(?P<n>\d+)$")


class _Refused(Exception):
    """Input the command cannot act on; its message is shown as is."""


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _Refused(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise _Refused(f"{what} must be a number >= 0, not {text!r}")
    return value


def _instant(text: str, what: str) -> datetime:
    try:
        return aware_time(text)
    except ValueError as exc:
        raise _Refused(f"{what} {text!r} {exc}") from None


def _window(args: argparse.Namespace) -> tuple[datetime, datetime]:
    lo, hi = _instant(args.start, "--from"), _instant(args.end, "--to")
    if hi <= lo:
        raise _Refused("--to must be after --from")
    return lo, hi


def _run(name: str, check, action, args: argparse.Namespace, settings: Settings) -> int:
    """Check the arguments before connecting, so bad input is reported as such."""
    from sql import db

    try:
        checked = check(args)
        with db.connect(settings.database_url, autocommit=True) as conn:
            return action(conn, checked, settings)
    except (_Refused, LookupError, ValueError) as exc:
        print(f"wattline {name}: {exc}", file=sys.stderr)
    except psycopg.Error as exc:
        print(f"wattline {name}: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
    return 2


def _check_tariff(args: argparse.Namespace) -> dict:
    from analytics.tariffs import tariff_params

    bands = None
    if args.bands is not None:
        try:
            bands = json.loads(args.bands)
        except json.JSONDecodeError as exc:
            raise _Refused(f"--bands is not JSON: {exc}") from None
    rate = _decimal(args.rate, "--rate")
    tax_rate = _decimal(args.tax_rate, "--tax-rate")
    if not re.fullmatch(r"[A-Z]{3}", args.currency):
        raise _Refused(f"--currency must be a 3-letter code like INR, not {args.currency!r}")
    params = tariff_params(args.tariff_id, rate, tax_rate, args.currency, bands)
    connectors = []
    for spec in args.connector:
        match = _CONNECTOR.match(spec)
        if not match:
            raise _Refused(f"--connector {spec!r}: expected CHARGE_POINT:CONNECTOR, e.g. CP-1:1")
        connectors.append((match["cp"], int(match["n"])))
    return {"tariff": params, "connectors": connectors}


def _tariff_set(conn, checked: dict, settings: Settings) -> int:
    from analytics.tariffs import save_tariff

    save_tariff(conn, checked["tariff"], checked["connectors"])
    tariff_id = checked["tariff"]["tariff_id"]
    print(f"tariff {tariff_id} saved; assigned to {len(checked['connectors'])} connector(s)")
    return 0


def _check_report(args: argparse.Namespace) -> argparse.Namespace:
    _check_window(args)
    if args.format == "parquet" and args.output is None:
        raise _Refused("--format parquet needs --output FILE")
    return args


def _report_sessions(conn, args: argparse.Namespace, settings: Settings) -> int:
    from analytics import session_report_job

    lo, hi = args.window
    report = session_report_job.sessions(conn, lo, hi)
    session_report_job.write(report, args.format, args.output or sys.stdout.buffer)
    if args.output:
        print(f"{report.height} session(s) written to {args.output}", file=sys.stderr)
    return 0


def _estimator(conn, args: argparse.Namespace, settings: Settings) -> int:
    from analytics.estimator import LOOKBACK
    from analytics.estimator_job import find_meter, live_estimate
    from analytics.settlement import SettlementConfig

    config = SettlementConfig(settings.settlement_minutes, settings.token_ratio)
    meter_id, tz = find_meter(conn, args.serial)
    result = live_estimate(conn, meter_id, tz, datetime.now(UTC), config)
    if result is None:
        minutes = int(LOOKBACK.total_seconds() // 60)
        raise LookupError(f"no readings from {args.serial} in the last {minutes} minutes")
    for key, value in asdict(result).items():
        print(f"{key}: {value.isoformat() if isinstance(value, datetime) else value}")
    return 0


def _settle(conn, args: argparse.Namespace, settings: Settings) -> int:
    from analytics.estimator_job import find_meter
    from analytics.settlement import SettlementConfig
    from analytics.settlement_job import settle_window

    lo, hi = args.window
    meter_id, _ = find_meter(conn, args.serial)
    config = SettlementConfig(settings.settlement_minutes, settings.token_ratio)
    written = settle_window(conn, lo, hi, config, meter_id)
    print(f"{written} settlement period(s) written for {args.serial}")
    return 0


def _check_window(args: argparse.Namespace) -> argparse.Namespace:
    args.window = _window(args)
    return args


def _bind(name: str, action, check=lambda args: args):
    return lambda args, settings: _run(name, check, action, args, settings)


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("tariff", help="manage charging tariffs")
    ts = t.add_subparsers(dest="tariff_command", required=True)
    s = ts.add_parser("set", help="add or update a tariff and assign it to connectors")
    s.add_argument("tariff_id", metavar="ID")
    s.add_argument("--rate", required=True, help="energy rate per kWh")
    s.add_argument("--tax-rate", default="0.18", help="tax rate (default 0.18)")
    s.add_argument("--currency", default="INR", help="ISO 4217 code (default INR)")
    s.add_argument(
        "--bands",
        help='time-of-use bands, e.g. \'[{"from":"22:00","to":"06:00","energy_rate":8}]\'',
    )
    s.add_argument(
        "--connector", action="append", default=[], metavar="CP:N", help="assign (repeatable)"
    )
    s.set_defaults(func=_bind("tariff set", _tariff_set, _check_tariff))

    r = sub.add_parser("report", help="export reports")
    rs = r.add_subparsers(dest="report", required=True)
    sessions = rs.add_parser("sessions", help="the session report for sessions started in a window")
    sessions.add_argument("--from", dest="start", required=True, metavar="ISO")
    sessions.add_argument("--to", dest="end", required=True, metavar="ISO")
    sessions.add_argument("--format", choices=["csv", "parquet"], default="csv")
    sessions.add_argument("--output", type=Path, metavar="FILE", help="default: stdout (csv)")
    sessions.set_defaults(func=_bind("report sessions", _report_sessions, _check_report))

    e = sub.add_parser("estimator", help="the live settlement estimator for a meter")
    e.add_argument("serial", metavar="METER_SERIAL")
    e.set_defaults(func=_bind("estimator", _estimator))

    st = sub.add_parser("settle", help="settle one meter's periods in a window now")
    st.add_argument("serial", metavar="METER_SERIAL")
    st.add_argument("--from", dest="start", required=True, metavar="ISO")
    st.add_argument("--to", dest="end", required=True, metavar="ISO")
    st.set_defaults(func=_bind("settle", _settle, _check_window))
