"""Charging sessions: a filtered page, the details of one, exports, and the manual end reading.
Every figure comes from analytics/session_report_job.sessions, the function behind
`wattline report sessions`, run in a worker thread."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import polars as pl
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from analytics import session_report_job
from api import session_view
from api.auth import OPERATE, READ_OR_SELF, account_of
from api.pages import Page, page, window
from api.problems import Problem, not_found
from api.tokens import Principal

router = APIRouter(tags=["sessions"])
TRANSACTION_ID = Path(ge=1, le=2**31 - 1, description="the OCPP transactionId")
MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


async def _report(request: Request, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    frame = await request.app.state.db.in_thread(
        lambda conn: session_report_job.sessions(conn, None, None, ids)
    )
    return {r["transaction_id"]: r for r in frame.iter_rows(named=True)}


async def _visible(request: Request, who: Principal, transaction_id: int) -> None:
    """404 for a session that does not exist or, for a self token, is not its account's."""
    row = await request.app.state.db.one("api_session_owner", {"transaction_id": transaction_id})
    account = account_of(who)
    if row is None or (account is not None and row["account_id"] != account):
        raise not_found("session", transaction_id)


@router.get("/sessions", summary="sessions, newest first, filtered and paged")
async def list_sessions(
    request: Request,
    charge_point: str | None = Query(None, max_length=48),
    id_tag: str | None = Query(None, max_length=20),
    start: datetime | None = Query(None, alias="from", description="started at or after"),
    end: datetime | None = Query(None, alias="to", description="started before"),
    open: bool | None = Query(None, description="only open (true) or closed (false) sessions"),
    paging: Page = Depends(page),
    who: Principal = READ_OR_SELF,
):
    lo, hi = window(start, end)
    params = {
        "charge_point_id": charge_point,
        "id_tag": id_tag,
        "account_id": account_of(who),
        "lo": lo,
        "hi": hi,
        "open": open,
    }
    frame, total = await request.app.state.db.in_thread(
        lambda conn: session_report_job.page(conn, **params, **paging.params)
    )
    return paging.body([session_view.summary(r) for r in frame.iter_rows(named=True)], total)


async def _export(request: Request, who: Principal, lo, hi, fmt: str) -> Response:
    lo, hi = window(lo, hi)
    frame = await request.app.state.db.in_thread(
        lambda conn: session_report_job.sessions(conn, lo, hi)
    )
    account = account_of(who)
    if account is not None:
        tags = await request.app.state.db.all("api_account_id_tags", {"account_id": account})
        frame = frame.filter(pl.col("id_tag").is_in([t["id_tag"] for t in tags]))
    out = io.BytesIO()
    session_report_job.write(frame, fmt, out)
    name = f"sessions-{lo:%Y%m%d}-{hi:%Y%m%d}.{fmt}"
    return Response(
        out.getvalue(),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


EXPORT_FROM = Query(alias="from", description="sessions started at or after (with time zone)")
EXPORT_TO = Query(alias="to", description="sessions started before")


@router.get(
    "/sessions.csv",
    summary="the session report as CSV (as `wattline report sessions`)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def sessions_csv(
    request: Request,
    start: datetime = EXPORT_FROM,
    end: datetime = EXPORT_TO,
    who: Principal = READ_OR_SELF,
) -> Response:
    return await _export(request, who, start, end, "csv")


@router.get(
    "/sessions.parquet",
    summary="the session report as Parquet",
    response_class=Response,
    responses={200: {"content": {"application/vnd.apache.parquet": {}}}},
)
async def sessions_parquet(
    request: Request,
    start: datetime = EXPORT_FROM,
    end: datetime = EXPORT_TO,
    who: Principal = READ_OR_SELF,
) -> Response:
    return await _export(request, who, start, end, "parquet")


@router.get("/sessions/{transaction_id}", summary="one session's details, as seed 000 shows them")
async def get_session(
    request: Request,
    transaction_id: int = TRANSACTION_ID,
    who: Principal = READ_OR_SELF,
):
    if account_of(who) is not None:
        await _visible(request, who, transaction_id)
    report = await _report(request, [transaction_id])
    if transaction_id not in report:
        raise not_found("session", transaction_id)
    return session_view.details(report[transaction_id])


class ManualReading(BaseModel):
    meterStopKwh: Decimal = Field(
        ge=0, le=Decimal("1e9"), max_digits=15, decimal_places=3, examples=[15.234]
    )


@router.post(
    "/sessions/{transaction_id}/manual-meter-stop",
    summary="an operator's reading of the end register (used when there is no meterStop and "
    "no MeterValues after the start)",
)
async def manual_meter_stop(
    request: Request,
    transaction_id: int = TRANSACTION_ID,
    reading: ManualReading = Body(),
    who: Principal = OPERATE,
):
    wh = reading.meterStopKwh * 1000
    db = request.app.state.db
    row = await db.one("api_session_owner", {"transaction_id": transaction_id})
    if row is None:
        raise not_found("session", transaction_id)
    report = await _report(request, [transaction_id])
    start = report[transaction_id]["meter_start_wh"]
    if start is not None and wh < start:
        raise Problem(
            422, f"the reading {reading.meterStopKwh} kWh is below the start {start / 1000} kWh"
        )
    await db.one("api_manual_meter_stop", {"transaction_id": transaction_id, "wh": wh})
    report = await _report(request, [transaction_id])
    return session_view.details(report[transaction_id])
