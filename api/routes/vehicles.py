"""The car behind an id tag (seed 000's user-vehicle-update): battery capacity and km per kWh,
which the session figures use for SOC change and range added."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from api.auth import account_of, require
from api.problems import not_found
from api.tokens import Principal

router = APIRouter(tags=["vehicles"])
OPERATE_OR_SELF = Depends(require("operate", self_ok=True))


class Vehicle(BaseModel):
    batteryKwh: Decimal = Field(gt=0, le=10_000, max_digits=10, decimal_places=3, examples=[40])
    kmPerKwh: Decimal = Field(
        Decimal("4.5"), gt=0, le=100, max_digits=8, decimal_places=3, examples=[4.5]
    )


@router.put("/vehicles/{id_tag}", summary="set the battery and efficiency of an id tag's car")
async def put_vehicle(
    request: Request,
    body: Vehicle,
    id_tag: str = Path(min_length=1, max_length=20),
    who: Principal = OPERATE_OR_SELF,
):
    db = request.app.state.db
    tag = await db.one("api_id_tag", {"id_tag": id_tag})
    account = account_of(who, "operate")
    if tag is None or (account is not None and tag["account_id"] != account):
        raise not_found("id tag", id_tag)
    row = await db.one(
        "api_save_vehicle",
        {"id_tag": id_tag, "battery_kwh": body.batteryKwh, "km_per_kwh": body.kmPerKwh},
    )
    return {"idTag": row["id_tag"], "batteryKwh": row["battery_kwh"], "kmPerKwh": row["km_per_kwh"]}
