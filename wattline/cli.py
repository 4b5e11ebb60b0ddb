"""The `wattline` command. Wiring only: parse arguments, read settings, call the packages."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from wattline import (
    cli_alerts,
    cli_analytics,
    cli_api,
    cli_config,
    cli_dashboard,
    cli_mqtt,
    cli_ocpp,
    cli_readings,
    logs,
)
from wattline.settings import Settings, export_env_file

LONG_RUNNING = ("ocpp", "mqtt", "jobs", "dashboard", "api", "demo")


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from sql.migrate import MigrationError, migrate

    try:
        result = migrate(settings.database_url, args.storage or settings.storage, log=print)
    except MigrationError as exc:
        print(f"wattline migrate: {exc}", file=sys.stderr)
        return 2
    print(
        f"database {result.database} is up to date ({result.profile} profile; "
        f"{len(result.applied)} migration(s) applied now, {result.already_applied} before)"
    )
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    import psycopg

    from sql import db, inventory, rollups, timescale_status

    try:
        with db.connect(settings.database_url) as conn:
            profile = rollups.storage_profile(conn)
            found = inventory.relations(conn)
            extra = []
            if profile == "timescale":
                extra = [*timescale_status.storage_lines(conn), *timescale_status.job_lines(conn)]
    except (psycopg.Error, RuntimeError) as exc:
        print(f"wattline status: {exc}", file=sys.stderr)
        return 2
    print(f"database {db.database_name(settings.database_url)}: {profile} storage profile")
    width = max(len(r.name) for r in found)
    for r in found:
        rows = "?" if r.rows is None else f"{r.rows:,}"
        print(f"  {r.name:<{width}}  {r.kind:<20}  {rows:>12} rows")
    for line in extra:
        print(line)
    return 0


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    from analytics import jobs
    from analytics.settlement import SettlementConfig
    from sql import db
    from wattline.observe import http
    from wattline.observe.health import Health

    settlement = SettlementConfig(settings.settlement_minutes, settings.token_ratio)

    def connect():
        return db.connect(settings.database_url, autocommit=True)

    if args.once:
        with connect() as conn:
            for step, n in jobs.run_once(conn, settlement).items():
                print(f"{step}: {n}")
        return 0
    # a daemon thread: ends with the process
    http.serve(Health(settings.database_url), settings.jobs_http_port, settings.http_host)
    try:
        jobs.run_forever(connect, args.interval or settings.jobs_interval_s, settlement)
    except KeyboardInterrupt:
        pass
    return 0


def _bootstrap(args: argparse.Namespace, settings: Settings) -> int:
    from wattline import bootstrap
    from wattline.settings import env_file

    path = Path(args.env_file) if args.env_file else env_file()
    creds, written = bootstrap.credentials(path, args.host, args.port, args.database)
    command = bootstrap.psql_command(args.admin_url, args.socket_dir, creds.port)
    bootstrap.run(creds, command)
    print(
        f"roles {bootstrap.OWNER_ROLE} and wattline_reader, database {creds.database} on "
        f"{creds.host}:{creds.port}: ready; passwords {'written to' if written else 'from'} "
        f"{path}"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wattline", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    sub = p.add_subparsers(dest="command", required=True)

    m = sub.add_parser("migrate", help="create the database if needed and apply migrations")
    m.add_argument(
        "--storage",
        choices=["timescale", "postgres"],
        help="force a storage profile (default: WATTLINE_STORAGE, else detect)",
    )
    m.set_defaults(func=_migrate)

    b = sub.add_parser(
        "bootstrap",
        help="once, as a superuser: roles with generated passwords, the database, .env",
    )
    b.add_argument("--host", default="127.0.0.1", help="the server, as the URLs in .env name it")
    b.add_argument("--port", type=int, default=5432)
    b.add_argument("--database", default="wattline")
    b.add_argument("--socket-dir", default="/var/run/postgresql", help="for peer auth as postgres")
    b.add_argument("--admin-url", help="a superuser's URL, instead of peer auth on the socket")
    b.add_argument("--env-file", help="default: WATTLINE_ENV_FILE, else ./.env")
    b.set_defaults(func=_bootstrap)

    s = sub.add_parser("status", help="show the storage profile and what each relation holds")
    s.set_defaults(func=_status)

    j = sub.add_parser("jobs", help="keep rollups and retention current")
    j.add_argument("--once", action="store_true", help="run one pass and exit")
    j.add_argument("--interval", type=float, help="seconds between passes")
    j.set_defaults(func=_jobs)
    cli_analytics.register(sub)
    cli_readings.register(sub)
    cli_alerts.register(sub)
    cli_config.register(sub)

    # Each ingest path adds its own subcommands (and its `simulate` target) from its own module.
    simulate = sub.add_parser("simulate", help="run simulated devices against the ingest")
    targets = simulate.add_subparsers(dest="target", required=True)
    for module in (cli_ocpp, cli_mqtt):
        module.register(sub, targets)
    cli_dashboard.register(sub)
    cli_api.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()  # a bad value stops here, with one line naming it
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2  # as for a bad argument
    # Code that still reads os.environ itself, and child processes, see the .env file too.
    export_env_file()
    level = logging.DEBUG if args.verbose else logging.INFO
    logs.setup(settings.log_format, args.command, level)  # process: ocpp, mqtt, jobs, ...
    if args.command in LONG_RUNNING:  # which database, for the operator; the password masked
        logging.getLogger("wattline").info("database %s", settings.database_url)
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
