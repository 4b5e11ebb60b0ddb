"""Smart meters: a filtered list, one meter with its shadow and tariffs, its daily balance
history and its readings in a window (bucketed to at most 1,000 points). A self token sees
its account's meters only; another's is a 404, as one that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Path, Query, Request

from api.auth import READ_OR_SELF, account_of
from api.pages import Page, page, total_of, window
from api.problems import Problem, not_found
from api.tokens import Principal
from dashboard.data import MAX_POINTS, bucket_for

router = APIRouter(tags=["meters"])
METER = Path(min_length=1, max_length=64, description="the meter's serial or id")
MAX_WINDOW = timedelta(days=400)


def meter_filters(who: Principal, meter: str | None = None, **flags) -> dict:
    return {
        "account_id": account_of(who),
        "meter": meter,
        "low_balance": flags.get("low_balance"),
        "offline": flags.get("offline"),
        "unhealthy": flags.get("unhealthy"),
    }


async def find_meter(request: Request, who: Principal, meter: str) -> dict:
    row = await request.app.state.db.one(
        "api_meters", meter_filters(who, meter) | {"limit": 1, "offset": 0}
    )
    if row is None:
        raise not_found("meter", meter)
    return row


def _meter(row: dict) -> dict:
    return {
        "meterId": row["meter_id"],
        "serial": row["serial"],
        "name": row["name"],
        "kind": row["kind"],
        "mode": row["mode"],
        "site": row["site"],
        "timezone": row["timezone"],
        "accountId": row["account_id"],
        "balance": row["balance"],
        "emergencyCredit": row["emergency_credit"],
        "balanceUpdatedAt": row["balance_updated_at"],
        "lastSeenAt": row["last_seen_at"],
        "lowBalance": row["low_balance"],
        "offline": row["offline"],
        "unhealthy": row["unhealthy"],
    }


@router.get("/meters", summary="meters, filtered by low balance, offline or unhealthy")
async def list_meters(
    request: Request,
    low_balance: bool | None = Query(None, description="below wattline.low_balance_threshold"),
    offline: bool | None = Query(None, description="silent past wattline.offline_after_minutes"),
    unhealthy: bool | None = Query(None, description="reported unhealthy, poor signal or drift"),
    paging: Page = Depends(page),
    who: Principal = READ_OR_SELF,
):
    filters = meter_filters(who, low_balance=low_balance, offline=offline, unhealthy=unhealthy)
    rows = await request.app.state.db.all("api_meters", filters | paging.params)
    return paging.body([_meter(r) for r in rows], total_of(rows))


@router.get("/meters/{meter}", summary="one meter with its shadow, registers and tariffs")
async def get_meter(
    request: Request,
    meter: str = METER,
    who: Principal = READ_OR_SELF,
):
    row = await find_meter(request, who, meter)
    db = request.app.state.db
    key = {"meter_id": row["meter_id"]}
    tariffs = await db.one("api_meter_tariffs", key) or {}
    registers = await db.all("api_meter_registers", key)
    return _meter(row) | {
        "shadow": {
            "health": row["health"],
            "csq": row["csq"],
            "clockTimeDiffSeconds": row["clock_time_diff_seconds"],
            "voltage": row["voltage"],
        },
        "registers": [
            {
                "registerId": r["register_id"],
                "element": r["element"],
                "status": r["status"],
                "directionReversed": r["direction_reversed"],
                "createdAt": r["created_at"],
                "replacedAt": r["replaced_at"],
            }
            for r in registers
        ],
        "tariffs": {
            "active": tariffs.get("tariffs_active"),
            "future": tariffs.get("tariffs_future"),
            "futureActivation": tariffs.get("future_activation_datetime"),
        },
    }


def _span(start: datetime | None, end: datetime | None, default: timedelta):
    lo, hi = window(start, end)
    hi = hi or datetime.now(UTC)
    lo = lo or hi - default
    if hi <= lo:
        raise Problem(422, "'to' must be after 'from'")
    if hi - lo > MAX_WINDOW:
        raise Problem(422, f"a window is at most {MAX_WINDOW.days} days")
    return lo, hi


@router.get("/meters/{meter}/balance-history", summary="prepay balance per day")
async def balance_history(
    request: Request,
    meter: str = METER,
    start: datetime | None = Query(None, alias="from", description="default: 30 days ago"),
    end: datetime | None = Query(None, alias="to", description="default: now"),
    who: Principal = READ_OR_SELF,
):
    row = await find_meter(request, who, meter)
    lo, hi = _span(start, end, timedelta(days=30))
    days = await request.app.state.db.all(
        "dash_balance_daily", {"meter_id": row["meter_id"], "lo": lo, "hi": hi}
    )
    return {
        "meterId": row["meter_id"],
        "serial": row["serial"],
        "from": lo,
        "to": hi,
        "days": [
            {
                "day": d["bucket"],
                "minBalance": d["min_balance"],
                "maxBalance": d["max_balance"],
                "lastBalance": d["last_balance"],
                "lastEmergencyCredit": d["last_emergency_credit"],
                "readings": d["readings"],
            }
            for d in days
        ],
    }


@router.get("/meters/{meter}/readings", summary=f"readings in a window, <= {MAX_POINTS} buckets")
async def readings(
    request: Request,
    meter: str = METER,
    start: datetime | None = Query(None, alias="from", description="default: 24 hours ago"),
    end: datetime | None = Query(None, alias="to", description="default: now"),
    who: Principal = READ_OR_SELF,
):
    row = await find_meter(request, who, meter)
    lo, hi = _span(start, end, timedelta(days=1))
    bucket = bucket_for(hi - lo, MAX_POINTS - 1)  # a partial bucket at each end: <= 1,000
    rows = await request.app.state.db.all(
        "api_meter_readings", {"meter_id": row["meter_id"], "lo": lo, "hi": hi, "bucket": bucket}
    )
    return {
        "meterId": row["meter_id"],
        "serial": row["serial"],
        "from": lo,
        "to": hi,
        "bucketSeconds": int(bucket.total_seconds()),
        "points": [
            {
                "time": r["bucket"],
                "readings": r["readings"],
                "importWh": r["import_wh"],
                "exportWh": r["export_wh"],
                "importW": r["import_w"],
                "exportW": r["export_w"],
            }
            for r in rows
        ],
    }
