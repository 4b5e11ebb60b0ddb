"""Settlement (seed 003): the live estimator, the settled periods, a manual settlement, and the
meter's real-time energy. The estimator is analytics/estimator.py over the named query
estimator_readings, exactly as `wattline estimator` and the dashboard compute it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request

from analytics import real_time as real_time_energy
from analytics.estimator import LOOKBACK, estimate_recent, window
from analytics.settlement_job import settle_window
from api.auth import OPERATE, READ_OR_SELF, account_of
from api.pages import Page, page, total_of
from api.pages import window as checked_window
from api.problems import Problem, not_found
from api.routes.meters import find_meter
from api.tokens import Principal

router = APIRouter(tags=["settlement"])
METER_QUERY = Query(
    None, min_length=1, max_length=64, description="serial or id; default: your first meter"
)
MAX_SETTLE_WINDOW = timedelta(days=31)


async def _estimator_meter(request: Request, who: Principal, meter: str | None) -> dict:
    account = account_of(who)
    if meter is None and account is None:
        raise Problem(422, "name a meter: only a self token has a default (its first meter)")
    row = await request.app.state.db.one(
        "api_estimator_meter", {"account_id": account, "meter": meter}
    )
    if row is None:
        if meter is None:
            raise Problem(404, f"no meters found for account {account}")
        raise not_found("meter", meter)
    return row


def _clock(t: datetime, tz: str) -> str:
    return t.astimezone(ZoneInfo(tz)).strftime("%H:%M")


@router.get("/settlement/estimator", summary="where the current settlement period is heading")
async def estimator(
    request: Request,
    meter: str | None = METER_QUERY,
    who: Principal = READ_OR_SELF,
):
    m = await _estimator_meter(request, who, meter)
    config = request.app.state.config.settlement
    now = datetime.now(UTC)
    lo, hi = window(now, m["timezone"], config)
    rows = await request.app.state.db.all(
        "estimator_readings", {"meter_id": m["meter_id"], "lo": lo, "hi": hi}
    )
    est = estimate_recent(rows, now, m["timezone"], config)
    if est is None:
        minutes = int(LOOKBACK.total_seconds() // 60)
        raise Problem(404, f"no readings from {m['serial']} in the last {minutes} minutes")
    tz = m["timezone"]
    return {
        "meterId": m["meter_id"],
        "serial": m["serial"],
        "status": est.status,
        "periodMinutes": est.period_minutes,
        "currentPowerKw": est.current_power_kw,
        "averagePowerKw": est.average_power_kw,
        "estimatedEtkAtSettlement": est.estimated_tokens,
        "currentRunningEtk": est.running_tokens,
        "periodStartTime": _clock(est.period_start, tz),
        "currentTime": _clock(est.now, tz),
        "periodEndTime": _clock(est.period_end, tz),
        "progressPercentage": est.progress_pct,
        "timeRemaining": est.time_remaining,
        "netEnergyWh": est.net_energy_wh,
        "estimatedNetEnergyWh": est.estimated_net_wh,
        "periodStart": est.period_start,
        "periodEnd": est.period_end,
        "timezone": tz,
    }


@router.get("/settlement/history", summary="settled periods of a meter, newest first")
async def history(
    request: Request,
    meter: str | None = METER_QUERY,
    start: datetime | None = Query(None, alias="from"),
    end: datetime | None = Query(None, alias="to"),
    paging: Page = Depends(page),
    who: Principal = READ_OR_SELF,
):
    lo, hi = checked_window(start, end)
    m = await _estimator_meter(request, who, meter)
    rows = await request.app.state.db.all(
        "api_settlement_history", {"meter_id": m["meter_id"], "lo": lo, "hi": hi} | paging.params
    )
    items = [
        {
            "periodStart": r["period_start"],
            "periodEnd": r["period_end"],
            "importWh": r["import_wh"],
            "exportWh": r["export_wh"],
            "netWh": r["net_wh"],
            "status": r["status"],
            "tokens": r["tokens"],
            "computedAt": r["computed_at"],
        }
        for r in rows
    ]
    return {"meterId": m["meter_id"], "serial": m["serial"]} | paging.body(items, total_of(rows))


@router.post("/settlement/manual/{meter}", summary="settle a meter's periods in a window now")
async def manual(
    request: Request,
    meter: str = Path(min_length=1, max_length=64),
    start: datetime | None = Query(None, alias="from", description="default: 24 hours ago"),
    end: datetime | None = Query(None, alias="to", description="default: now"),
    who: Principal = OPERATE,
):
    lo, hi = checked_window(start, end)
    hi = hi or datetime.now(UTC)
    lo = lo or hi - timedelta(days=1)
    if hi <= lo or hi - lo > MAX_SETTLE_WINDOW:
        raise Problem(422, f"'to' must be after 'from', at most {MAX_SETTLE_WINDOW.days} days")
    m = await find_meter(request, who, meter)
    config = request.app.state.config.settlement
    written = await request.app.state.db.in_thread(
        lambda conn: settle_window(conn, lo, hi, config, m["meter_id"])
    )
    return {
        "meterId": m["meter_id"],
        "serial": m["serial"],
        "from": lo,
        "to": hi,
        "periodsWritten": written,
    }


@router.get("/energy/real-time", summary="a meter's latest registers and power, and today's energy")
async def real_time(
    request: Request,
    meter: str | None = METER_QUERY,
    who: Principal = READ_OR_SELF,
):
    m = await _estimator_meter(request, who, meter)
    db = request.app.state.db
    registers = await db.all("api_latest_registers", {"meter_id": m["meter_id"]})
    midnight = real_time_energy.local_midnight(datetime.now(UTC), m["timezone"])
    today = await db.one("api_energy_since", {"meter_id": m["meter_id"], "since": midnight})
    f = real_time_energy.figures(registers, today, midnight)
    return {
        "meterId": m["meter_id"],
        "serial": m["serial"],
        "time": f["time"],
        "importW": f["import_w"],
        "exportW": f["export_w"],
        "netPowerW": f["net_power_w"],
        "elements": [
            {
                "element": r["element"],
                "time": r["time"],
                "importWh": r["import_wh"],
                "exportWh": r["export_wh"],
                "importW": r["import_w"],
                "exportW": r["export_w"],
            }
            for r in f["elements"]
        ],
        "today": {
            "since": f["since"],
            "importWh": f["today_import_wh"],
            "exportWh": f["today_export_wh"],
            "netWh": f["today_net_wh"],
        },
    }
