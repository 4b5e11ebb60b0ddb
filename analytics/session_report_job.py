"""Reads what the session report needs from the database and writes the report as CSV or
Parquet. The figures come from analytics/session_report.py."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import polars as pl
import psycopg
from psycopg.rows import dict_row, tuple_row

from analytics import csv_export
from analytics.frame import copied
from analytics.session_report import REPORT_COLUMNS, WH, Tariff, session_report
from analytics.tou import parse_bands
from sql import queries

FORMATS = ("csv", "parquet")
TIME = pl.Datetime("us", "UTC")
TRANSACTION_SCHEMA = {
    "transaction_id": pl.Int64,
    "charge_point_id": pl.String,
    "connector_id": pl.Int64,
    "id_tag": pl.String,
    "orphan": pl.Boolean,
    "started_at": TIME,
    "stopped_at": TIME,
    "stop_reason": pl.String,
    "meter_start_wh": WH,
    "meter_stop_wh": WH,
    "manual_meter_stop_wh": WH,
    "tariff_id": pl.String,
    "connector_max_kw": pl.Decimal(38, 3),
    "timezone": pl.String,
    "latest_register_wh": WH,
    "latest_register_at": TIME,
    "register_wh": WH,
}
REGISTER_SCHEMA = {"transaction_id": pl.Int64, "time": TIME, "value": WH, "delta": WH}
VEHICLE_SCHEMA = {"id_tag": pl.String, "battery_kwh": pl.Decimal(38, 3), "km_per_kwh": WH}
# A report_transactions row: the transaction and its car; then its tariff's four columns, which
# become Tariff objects instead of frame columns.
ROW_SCHEMA = TRANSACTION_SCHEMA | {k: v for k, v in VEHICLE_SCHEMA.items() if k != "id_tag"}


def scan_bounds(
    conn: psycopg.Connection, lo: datetime | None, ids: list[int] | None
) -> dict[str, object]:
    """Constant bounds on where the sessions' register readings can be (migration 0038): a
    window's sessions start at lo or later; given ids, their own span, read first. Passed as
    values, they let TimescaleDB leave other chunks out of the plan (a month: 31 chunks, 4 ms of
    planning for one session's details)."""
    if ids is None:
        return {"scan_from": "-infinity" if lo is None else lo, "scan_to": "infinity"}
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(queries.get("report_window"), {"ids": ids}).fetchone()


def _transactions(conn: psycopg.Connection, params: dict) -> tuple[pl.DataFrame, dict[str, Tariff]]:
    """report_transactions as a frame (with each session's car), and the tariffs its sessions
    are on, read from the same rows: only those, with exact Decimal rates."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(queries.get("report_transactions"), params).fetchall()
    width = len(ROW_SCHEMA)
    tariff_at = list(ROW_SCHEMA).index("tariff_id")
    tariffs: dict[str, Tariff] = {}
    for row in rows:
        tariff_id, (currency, rate, tax_rate, bands) = row[tariff_at], row[width:]
        if tariff_id is not None and rate is not None and tariff_id not in tariffs:
            tariffs[tariff_id] = Tariff(currency, rate, tax_rate, parse_bands(bands))
    frame = pl.DataFrame([row[:width] for row in rows], schema=ROW_SCHEMA, orient="row")
    return frame, tariffs


def sessions(
    conn: psycopg.Connection,
    lo: datetime | None,
    hi: datetime | None,
    ids: list[int] | None = None,
) -> pl.DataFrame:
    """The session report for transactions that started in [lo, hi), or for those with the
    given ``ids`` (lo and hi then unused): the CLI's report and the API's sessions alike."""
    window = {"lo": lo, "hi": hi, "ids": ids} | scan_bounds(conn, lo, ids)
    transactions, tariffs = _transactions(conn, window)
    # Only time-of-use money needs every reading; the latest comes with the transactions. When
    # none of these sessions is on such a tariff (an API page, a flat-rate fleet), none is read.
    used = sorted(k for k, t in tariffs.items() if t.bands)
    registers = (
        copied(conn, "report_registers", window | {"tariff_ids": used}, REGISTER_SCHEMA)
        if used
        else pl.DataFrame(schema=REGISTER_SCHEMA)
    )
    # Each row already carries its car (battery_kwh, km_per_kwh): no vehicles frame to join.
    return session_report(transactions, registers, tariffs, None)


PAGE_FILTERS = ("charge_point_id", "id_tag", "account_id", "lo", "hi", "open")


def page(
    conn: psycopg.Connection, limit: int, offset: int, **filters: object
) -> tuple[pl.DataFrame, int]:
    """One page of the session report, newest first, and how many sessions match ``filters``
    (PAGE_FILTERS; None or absent: no filter): the API's session list and the dashboard's
    transactions table, priced by the same code as the CLI's report."""
    rows = _page_rows(conn, limit, offset, filters)
    ids = [r["transaction_id"] for r in rows]
    total = rows[0]["total"] if rows else 0
    return of(conn, ids), total


def count(conn: psycopg.Connection, **filters: object) -> int:
    """How many sessions match ``filters`` (as ``page``), without building any report."""
    rows = _page_rows(conn, 1, 0, filters)
    return rows[0]["total"] if rows else 0


def _page_rows(conn: psycopg.Connection, limit: int, offset: int, filters: dict) -> list[dict]:
    unknown = set(filters) - set(PAGE_FILTERS)
    if unknown:
        raise TypeError(f"unknown session filters: {sorted(unknown)}")
    params = dict.fromkeys(PAGE_FILTERS) | filters | {"limit": limit, "offset": offset}
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(queries.get("report_session_page"), params).fetchall()


def of(conn: psycopg.Connection, ids: list[int]) -> pl.DataFrame:
    """The report rows of the transactions ``ids``, in that order (absent ids are left out)."""
    if not ids:
        return pl.DataFrame({c: [] for c in REPORT_COLUMNS})
    report = sessions(conn, None, None, ids)
    if report.is_empty():
        return report
    order = pl.DataFrame({"transaction_id": ids, "_order": range(len(ids))})
    return (
        report.join(order, on="transaction_id", how="left", coalesce=True)
        .sort("_order")
        .drop("_order")
    )


def write(report: pl.DataFrame, fmt: str, out: Path | BinaryIO) -> None:
    if fmt == "csv":
        csv_export.write_csv(report, out)
    elif fmt == "parquet":
        report.write_parquet(out)
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
