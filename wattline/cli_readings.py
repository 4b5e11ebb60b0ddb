"""`wattline readings suspect` and `readings accept`: register readings whose delta exceeded the
device's maximum power over the interval are held out of the rollups (migration 0018) until an
operator accepts them. Wiring only; the SQL is in sql/queries/readings.sql. Bad input is one
line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from ingest.clock import aware_time
from wattline.settings import Settings

_CHARGER = re.compile(r"^(?P<cp>[^:]{1,48})(:(?P<n>\d+))?$")
EVER = (datetime.fromisoformat("0001-01-01T00:00:00+00:00"),
        datetime.fromisoformat("9999-12-31T00:00:00+00:00"))  # fmt: skip


class _Refused(Exception):
    """Input the command cannot act on; its message is shown as is."""


def _filters(args: argparse.Namespace) -> dict:
    """The query parameters: which devices (--charger CP[:N] or --meter SERIAL) and window."""
    if args.charger and args.meter:
        raise _Refused("give --charger or --meter, not both")
    charge_point_id = connector_id = None
    if args.charger:
        match = _CHARGER.match(args.charger)
        if not match:
            raise _Refused(f"--charger {args.charger!r} is not CHARGE_POINT or CHARGE_POINT:N")
        charge_point_id = match["cp"]
        connector_id = int(match["n"]) if match["n"] is not None else None
    lo, hi = EVER
    try:
        if args.start:
            lo = aware_time(args.start)
        if args.end:
            hi = aware_time(args.end)
    except ValueError as exc:
        raise _Refused(f"--from/--to {exc}") from None
    if hi <= lo:
        raise _Refused("--to must be after --from")
    return {
        "charge_point_id": charge_point_id,
        "connector_id": connector_id,
        "serial": args.meter,
        "lo": lo,
        "hi": hi,
    }


def _suspect(conn: psycopg.Connection, params: dict, settings: Settings) -> int:
    from sql import queries

    rows = conn.execute(queries.get("suspect_readings"), params).fetchall()
    for r in rows:
        print(
            f"{r['kind']}\t{r['device']}\t{r['register']}\t{r['time'].isoformat()}\t"
            f"{r['value']}\theld {r['held_wh']} Wh"
        )
    print(f"{len(rows)} suspect reading(s)", file=sys.stderr)
    return 0


def _accept(conn: psycopg.Connection, params: dict, settings: Settings) -> int:
    from analytics.settlement import SettlementConfig
    from analytics.settlement_job import settle_window
    from sql import queries

    moved, count = Decimal(0), 0
    spans: dict[str, list[datetime]] = {}  # meter -> [first, last] reading accepted
    with conn.transaction():
        for r in conn.execute(queries.get("accept_meter_values"), params).fetchall():
            moved, count = moved + r["held_wh"], count + 1
        for r in conn.execute(queries.get("accept_register_readings"), params).fetchall():
            moved, count = moved + r["held_wh"], count + 1
            span = spans.setdefault(str(r["meter_id"]), [r["time"], r["time"]])
            span[0], span[1] = min(span[0], r["time"]), max(span[1], r["time"])
    # Settlement periods are computed once, from readings received since; these were received
    # long ago, so their periods are recomputed here.
    config = SettlementConfig(settings.settlement_minutes, settings.token_ratio)
    for meter_id, (first, last) in spans.items():
        settle_window(conn, first, last + timedelta(microseconds=1), config, meter_id)
    print(f"accepted {count} reading(s): {moved} Wh now counted in the rollups")
    return 0


def _bind(name: str, action, require_window: bool):
    def run(args: argparse.Namespace, settings: Settings) -> int:
        from sql import db

        try:
            if require_window and not (args.start and args.end):
                raise _Refused("give the window to accept: --from ISO --to ISO")
            params = _filters(args)
            with db.connect(settings.database_url, autocommit=True) as conn:
                return action(conn, params, settings)
        except _Refused as exc:
            print(f"wattline readings {name}: {exc}", file=sys.stderr)
            return 2
        except psycopg.Error as exc:
            print(f"wattline readings {name}: {str(exc).strip()}", file=sys.stderr)
            return 2

    return run


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("readings", help="suspect register readings: list and accept")
    rs = r.add_subparsers(dest="readings_command", required=True)
    for name, action, text in (
        ("suspect", _suspect, "list suspect readings (held out of the rollups)"),
        ("accept", _accept, "count suspect readings of a window in the rollups"),
    ):
        p = rs.add_parser(name, help=text)
        p.add_argument("--charger", metavar="CP[:N]", help="one charge point (or connector)")
        p.add_argument("--meter", metavar="SERIAL", help="one meter")
        p.add_argument("--from", dest="start", metavar="ISO", help="window start (inclusive)")
        p.add_argument("--to", dest="end", metavar="ISO", help="window end (exclusive)")
        p.set_defaults(func=_bind(name, action, require_window=name == "accept"))
