"""`wattline migrate`: create the database, choose the storage profile, apply migrations once.

Order on every run: bootstrap.sql (idempotent), the profile's functions (profiles/*.sql,
CREATE OR REPLACE), each migration not yet recorded (one transaction each), grants.sql.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import errors, sql

from sql import db, privileges, timescaledb

SQL_DIR = Path(__file__).parent
MIGRATION_DIR = SQL_DIR / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
PROFILES = ("timescale", "postgres")
# Only one migrate at a time per database; a second waits instead of failing half-way.
LOCK_KEY = 0x7761_7474  # "watt"
# Versions that were applied on some databases and then taken back: their file is gone, their
# record in schema_migrations is expected, and the number is never used again. A later forward
# migration undoes what each did (the one named here).
RETIRED = {
    15: "writer_slots_fine: 65,536 writer slots, reverted in the code; undone by 0016",
}


class MigrationError(Exception):
    """A problem the operator must fix; the message says what and how."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass
class MigrationResult:
    database: str
    profile: str
    created_database: bool
    applied: list[str] = field(default_factory=list)
    already_applied: int = 0


def migrations(directory: Path = MIGRATION_DIR) -> list[Migration]:
    """The migration files in order; a misnamed file or a reused number is an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
        version = int(match.group(1))
        if version in RETIRED:
            raise MigrationError(f"{path.name}: version {version} is retired ({RETIRED[version]})")
        if version in found:
            raise MigrationError(f"{path.name}: version {version} is used twice")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def ensure_database(dsn: str) -> bool:
    """Create the DSN's database if it does not exist; True when it was created."""
    try:
        psycopg.connect(dsn, connect_timeout=10).close()
        return False
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise MigrationError(f"cannot connect to the database: {exc}".strip()) from exc
    name = db.database_name(dsn)
    try:
        with psycopg.connect(db.maintenance_dsn(dsn), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except errors.DuplicateDatabase:
        return False  # created by a concurrent migrate
    except psycopg.Error as exc:
        raise MigrationError(f"cannot create database {name!r}: {exc}".strip()) from exc
    return True


def _create_timescaledb(conn: psycopg.Connection) -> str | None:
    """Create the extension if this server can; otherwise the reason it cannot.

    It is created for real rather than tried and rolled back: a session that loaded the library
    and then rolled back cannot create the extension again."""
    reason = timescaledb.unavailable_reason(conn)
    if reason:
        return reason
    try:
        with conn.transaction():  # a savepoint: the failure leaves the outer transaction usable
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        return f"CREATE EXTENSION timescaledb failed: {str(exc).strip()}"
    return None


def choose_profile(
    conn: psycopg.Connection,
    requested: str | None,
    log: Callable[[str], None] = lambda _line: None,
) -> str:
    if requested is not None and requested not in PROFILES:
        raise MigrationError(
            f"WATTLINE_STORAGE={requested!r} is not a storage profile; use one of {PROFILES}"
        )
    row = conn.execute("SELECT profile FROM wattline_admin.storage").fetchone()
    stored = row["profile"] if row else None
    if stored and requested and stored != requested:
        raise MigrationError(
            f"this database was built with the {stored!r} storage profile; it cannot be "
            f"migrated as {requested!r} (unset WATTLINE_STORAGE or use a new database)"
        )
    if stored:
        return stored
    why_not = None if requested == "postgres" else _create_timescaledb(conn)
    if requested == "timescale" and why_not:
        raise MigrationError(
            f"WATTLINE_STORAGE=timescale, but CREATE EXTENSION timescaledb cannot work on this "
            f"server: {why_not}; install TimescaleDB or use WATTLINE_STORAGE=postgres"
        )
    if requested is None and why_not:
        log(f"TimescaleDB not used: {why_not}")
    profile = requested or ("postgres" if why_not else "timescale")
    conn.execute("INSERT INTO wattline_admin.storage (profile) VALUES (%s)", [profile])
    return profile


def migrate(
    dsn: str,
    storage: str | None = None,
    *,
    log: Callable[[str], None] = lambda _line: None,
    directory: Path = MIGRATION_DIR,
) -> MigrationResult:
    """Bring the database at ``dsn`` up to date with the migrations in ``directory``. Safe to
    run any number of times."""
    # Privileges are checked before acting: a missing one is named, nothing is left half-done.
    if why := privileges.problem_before(dsn):
        raise MigrationError(why)
    created = ensure_database(dsn)
    result = MigrationResult(db.database_name(dsn), "", created)
    if created:
        log(f"created database {result.database}")
    try:
        timescaledb.update_if_older(dsn, log)
    except psycopg.Error as exc:
        detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
        raise MigrationError(
            f"ALTER EXTENSION timescaledb UPDATE failed: {exc.diag.message_primary}{detail}"
        ) from exc
    with db.connect(dsn, autocommit=True) as conn:
        if why := privileges.problem_inside(conn, storage):
            raise MigrationError(why)
        conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            _migrate(conn, storage, result, log, migrations(directory))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    return result


def _migrate(
    conn, storage, result: MigrationResult, log: Callable[[str], None], on_disk: list[Migration]
) -> None:
    with conn.transaction():
        conn.execute((SQL_DIR / "bootstrap.sql").read_text())
        result.profile = choose_profile(conn, storage, log)
        conn.execute((SQL_DIR / "profiles" / f"{result.profile}.sql").read_text())
    log(f"storage profile: {result.profile}")
    applied = {
        r["version"]: r
        for r in conn.execute(
            "SELECT version, name, checksum FROM wattline_admin.schema_migrations"
        )
    }
    _refuse_unknown(applied, on_disk)
    for migration in on_disk:
        done = applied.get(migration.version)
        if done:
            if done["checksum"] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.path.name} changed after it was applied; "
                    "add a new migration instead of editing an applied one"
                )
            result.already_applied += 1
            continue
        try:
            with conn.transaction():
                conn.execute(migration.text)
                conn.execute(
                    "INSERT INTO wattline_admin.schema_migrations (version, name, checksum)"
                    " VALUES (%s, %s, %s)",
                    [migration.version, migration.name, migration.checksum],
                )
        except psycopg.Error as exc:
            raise MigrationError(f"migration {migration.path.name} failed: {exc}") from exc
        result.applied.append(migration.path.name)
        log(f"applied {migration.path.name}")
    with conn.transaction():
        conn.execute((SQL_DIR / "grants.sql").read_text())
    _backfill(conn, log)


def _backfill(conn: psycopg.Connection, log: Callable[[str], None]) -> None:
    """Refresh in full each continuous aggregate a migration created (timescale profile; see
    wattline_admin.rollup_backfills). ``conn`` is in autocommit mode, as the refresh requires."""
    pending = conn.execute("SELECT rollup FROM wattline_admin.rollup_backfills ORDER BY 1")
    for row in pending.fetchall():
        name = row["rollup"]
        _refresh_in_full(conn, name)
        conn.execute("DELETE FROM wattline_admin.rollup_backfills WHERE rollup = %s", [name])
        log(f"refreshed rollup {name} in full")


def _refresh_in_full(conn: psycopg.Connection, name: str, attempts: int = 40) -> None:
    """TimescaleDB refuses a refresh that overlaps one in progress, and a new aggregate's
    policy starts at once (seen in about one migrate of twenty); it takes a second at most, so
    wait for it."""
    for attempt in range(attempts):
        try:
            conn.execute(
                "CALL refresh_continuous_aggregate(%s::regclass, NULL, NULL)",
                [f"wattline.{name}"],
            )
            return
        except psycopg.Error as exc:
            busy = "concurrent refresh" in (exc.diag.message_primary or "")
            if not busy:
                raise MigrationError(f"refreshing rollup {name} failed: {exc}".strip()) from exc
            if attempt == attempts - 1:
                raise MigrationError(
                    f"refreshing rollup {name}: another refresh kept it busy for "
                    f"{attempts / 4:g} s; run `wattline migrate` again"
                ) from exc
            time.sleep(0.25)


def _refuse_unknown(applied: dict[int, dict], on_disk: list[Migration]) -> None:
    """A version recorded here but neither on disk nor retired was applied by newer (or other)
    code: migrating with this code could undo or contradict it, so stop and say so."""
    known = {m.version for m in on_disk} | RETIRED.keys()
    unknown = sorted(v for v in applied if v not in known)
    if unknown:
        names = ", ".join(f"{v:04d}_{applied[v]['name']}" for v in unknown)
        raise MigrationError(
            f"refusing to migrate: this database records migration {names} as applied, and "
            "this version of wattline does not have it (newest here: "
            f"{on_disk[-1].path.name if on_disk else 'none'}); run the wattline version that "
            "applied it, or restore the database from before it; do not delete its row from "
            "wattline_admin.schema_migrations, the schema still holds what it did"
        )
