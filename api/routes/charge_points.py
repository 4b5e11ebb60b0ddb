"""Charge points, their connectors and the live meter status of one connector (seed 000's
connector-meter-status)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request

from analytics import session_report_job
from api import text
from api.auth import READ
from api.pages import Page, page, total_of
from api.problems import not_found

router = APIRouter(tags=["charge points"])
CHARGE_POINT_ID = Path(min_length=1, max_length=48, description="the OCPP identity")


def _charge_point(row: dict) -> dict:
    return {
        "chargePointId": row["charge_point_id"],
        "vendor": row["vendor"],
        "model": row["model"],
        "serial": row["serial"],
        "firmware": row["firmware"],
        "site": row["site"],
        "timezone": row["timezone"],
        "registrationStatus": row["registration_status"],
        "connected": row["connected"],
        "firstSeenAt": row["first_seen_at"],
        "lastBootAt": row["last_boot_at"],
        "lastSeenAt": row["last_seen_at"],
        "connectors": row["connectors"],
    }


def _filters(charge_point_id=None, connected=None) -> dict:
    return {"charge_point_id": charge_point_id, "connected": connected}


@router.get("/charge-points", summary="charge points, connected or not, with connector status")
async def list_charge_points(
    request: Request,
    connected: bool | None = Query(None, description="only those connected now (or not)"),
    paging: Page = Depends(page),
    _=READ,
):
    rows = await request.app.state.db.all(
        "api_charge_points", _filters(connected=connected) | paging.params
    )
    return paging.body([_charge_point(r) for r in rows], total_of(rows))


@router.get("/charge-points/{charge_point_id}", summary="one charge point")
async def get_charge_point(request: Request, charge_point_id: str = CHARGE_POINT_ID, _=READ):
    row = await request.app.state.db.one(
        "api_charge_points", _filters(charge_point_id) | {"limit": 1, "offset": 0}
    )
    if row is None:
        raise not_found("charge point", charge_point_id)
    return _charge_point(row)


@router.get(
    "/charge-points/{charge_point_id}/connectors/{connector_id}/meter-status",
    summary="the connector's latest register, its age and the open session's figures",
)
async def meter_status(
    request: Request,
    charge_point_id: str = CHARGE_POINT_ID,
    connector_id: int = Path(ge=0, le=1_000_000),
    _=READ,
):
    row = await request.app.state.db.one(
        "api_connector_meter_status",
        {"charge_point_id": charge_point_id, "connector_id": connector_id},
    )
    if row is None:
        raise not_found("connector", f"{charge_point_id} #{connector_id}")
    session = None
    if row["transaction_id"] is not None:
        # Energy and money from the session report, as the session's details and the dashboard
        # show them (time-of-use bands included), not the view's flat estimate.
        tx = row["transaction_id"]
        report = await request.app.state.db.in_thread(
            lambda conn: session_report_job.of(conn, [tx])
        )
        figures = report.row(0, named=True) if not report.is_empty() else {}
        session = {
            "transactionId": tx,
            "startedAt": row["started_at"],
            "energySinceStart": figures.get("energy_kwh"),
            "estimatedCost": figures.get("cost"),
            "estimatedTotal": figures.get("total"),
            "currency": figures.get("currency"),
            "duration": text.duration(row["duration_s"]),
            "durationSeconds": _whole(row["duration_s"]),
        }
    return {
        "chargePointId": row["charge_point_id"],
        "connectorId": row["connector_id"],
        "status": row["status"],
        "meterValue": row["meter_kwh"],
        "unit": "kWh",
        "meterTime": row["meter_at"],
        "meterAge": text.ago(row["meter_age_s"]),
        "meterAgeSeconds": _whole(row["meter_age_s"]),
        "freshness": row["freshness"],
        "activeSession": session,
    }


def _whole(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds)
