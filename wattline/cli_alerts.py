"""`wattline alerts`: evaluate the alert rules once (opening and resolving alerts, posting them
to the webhook) and list the open ones. `wattline jobs` runs the same evaluation every pass.
Wiring only: analytics/alerts.py does the work."""

from __future__ import annotations

import argparse
import sys

import psycopg

from wattline.settings import Settings


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    from analytics import alerts
    from sql import db

    config = alerts.AlertConfig.from_env()
    try:
        with db.connect(settings.database_url, autocommit=True) as conn:
            if not args.list_only:
                outcome = alerts.evaluate(conn, config)
                print(
                    f"opened {outcome.opened}, resolved {outcome.resolved}; "
                    f"webhook: {outcome.delivered} delivered, {outcome.dead_lettered} dead-lettered"
                )
            rows = alerts.open_alerts(conn)
    except psycopg.Error as exc:
        print(f"wattline alerts: {exc}", file=sys.stderr)
        return 2
    print(f"{len(rows)} open alert(s)")
    for r in rows:
        print(
            f"  {r['severity']:<8}  {r['rule']:<16}  {r['subject_kind']:<12}  "
            f"{r['subject_id']:<20}  since {r['opened_at']:%Y-%m-%d %H:%M:%S%z}"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("alerts", help="evaluate the alert rules once and list open alerts")
    a.add_argument("--list", dest="list_only", action="store_true", help="only list open alerts")
    a.set_defaults(func=_alerts)
