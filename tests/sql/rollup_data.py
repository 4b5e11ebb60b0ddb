"""Loads tests/sql/fixtures.sql into a migrated database, the way ingest does."""

from __future__ import annotations

from pathlib import Path

import psycopg

from sql.queries import parse

FIXTURES = parse((Path(__file__).parent / "fixtures.sql").read_text(), "fixtures.sql")


def q(name: str) -> str:
    return FIXTURES[name].text


def load(conn: psycopg.Connection) -> None:
    """Two batches, odd readings first, so every even reading arrives out of order."""
    for name in ("meters", "registers", "charger"):
        conn.execute(q(name))
    for parity in (1, 0):
        stage(conn, parity)
    conn.execute(q("insert_balance_series"))


def stage(conn: psycopg.Connection, parity: int) -> tuple[int, int]:
    """Stage and merge one batch; returns rows inserted (register readings, meter values)."""
    with conn.transaction():
        conn.execute(q("create_staging"))
        conn.execute(q("stage_register_series"), {"parity": parity})
        conn.execute(q("stage_meter_value_series"), {"parity": parity})
        registers = conn.execute(q("merge_register_readings")).fetchone()[0]
        values = conn.execute(q("merge_meter_values")).fetchone()[0]
    return registers, values
