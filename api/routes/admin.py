"""Administration (admin scope): charge points with their password or certificate profile, id
tags, tariffs with time-of-use bands, the meter registry and accounts. Each write goes through
the function the CLI's command uses."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import psycopg
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from analytics.tariffs import save_tariff, tariff_params
from api.auth import ADMIN
from api.pages import Page, page, total_of
from api.problems import Problem
from api.routes.charge_points import CHARGE_POINT_ID
from ingest import meter_admin
from ingest.ocpp import admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[ADMIN])
ACCOUNT_ID = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
ID_TAG = Path(min_length=1, max_length=20)
SERIAL = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
TARIFF_ID = Path(min_length=1, max_length=64)


def _refused(exc: Exception) -> Problem:
    return Problem(422, str(exc).strip().splitlines()[0])


def _listed(rows: list[dict], paging: Page) -> dict:
    items = [{k: v for k, v in r.items() if k != "total"} for r in rows]
    return paging.body(items, total_of(rows))


class ChargePointIn(BaseModel):
    password: str | None = Field(None, min_length=8, max_length=40, description="HTTP Basic")
    securityProfile: Literal[1, 2, 3] | None = Field(
        None, description="1 Basic, 2 Basic over TLS, 3 TLS client certificate (CN = id)"
    )


@router.get("/charge-points", summary="charge points with their security settings")
async def list_charge_points(request: Request, paging: Page = Depends(page)):
    rows = await request.app.state.db.all("api_admin_charge_points", paging.params)
    return _listed(rows, paging)


@router.put("/charge-points/{charge_point_id}", summary="add or update a charge point (accepted)")
async def put_charge_point(
    request: Request, body: ChargePointIn, charge_point_id: str = CHARGE_POINT_ID
):
    dsn = request.app.state.config.database_url
    try:  # argon2 hashing is slow on purpose: not on the event loop
        await asyncio.to_thread(
            admin.save_charge_point, dsn, charge_point_id, body.password, body.securityProfile
        )
    except ValueError as exc:
        raise _refused(exc) from None
    return {
        "chargePointId": charge_point_id,
        "passwordChanged": body.password is not None,
        "securityProfile": body.securityProfile,
    }


class IdTagIn(BaseModel):
    status: Literal["Accepted", "Blocked", "Expired", "Invalid"] = "Accepted"
    expiry: datetime | None = None
    parent: str | None = Field(None, min_length=1, max_length=20)
    owner: str | None = Field(None, max_length=200)
    accountId: str | None = Field(None, min_length=1, max_length=64)


@router.get("/id-tags", summary="id tags")
async def list_id_tags(request: Request, paging: Page = Depends(page)):
    return _listed(await request.app.state.db.all("api_id_tags", paging.params), paging)


@router.put("/id-tags/{id_tag}", summary="add or update an id tag, and who owns it")
async def put_id_tag(request: Request, body: IdTagIn, id_tag: str = ID_TAG):
    dsn = request.app.state.config.database_url

    def save() -> None:
        admin.save_id_tag(dsn, id_tag, body.status, body.expiry, body.parent, body.owner)

    try:
        await asyncio.to_thread(save)
    except ValueError as exc:
        raise _refused(exc) from None
    except psycopg.errors.ForeignKeyViolation:
        raise Problem(409, f"no parent id tag {body.parent}") from None
    db = request.app.state.db
    try:
        await db.execute("api_set_id_tag_account", {"id_tag": id_tag, "account_id": body.accountId})
    except psycopg.errors.ForeignKeyViolation:
        raise Problem(409, f"no account {body.accountId}") from None
    return await db.one("api_id_tag", {"id_tag": id_tag})


class Connector(BaseModel):
    chargePointId: str = Field(min_length=1, max_length=48)
    connectorId: int = Field(ge=0, le=1_000_000)


class Band(BaseModel):
    from_: str = Field(alias="from", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["22:00"])
    to: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["06:00"])
    energyRate: Decimal = Field(ge=0, le=Decimal("1e9"), max_digits=18, decimal_places=6)


class TariffIn(BaseModel):
    energyRate: Decimal = Field(ge=0, le=Decimal("1e9"), max_digits=18, decimal_places=6)
    taxRate: Decimal = Field(Decimal("0.18"), ge=0, le=100, max_digits=12, decimal_places=6)
    currency: str = Field("INR", pattern=r"^[A-Z]{3}$")
    bands: list[Band] | None = Field(None, max_length=48, description="time-of-use, local time")
    connectors: list[Connector] = Field(default_factory=list, max_length=1000)


@router.get("/tariffs", summary="tariffs with their bands and connectors")
async def list_tariffs(request: Request, paging: Page = Depends(page)):
    rows = await request.app.state.db.all("api_tariffs", {"tariff_id": None} | paging.params)
    return _listed(rows, paging)


@router.put("/tariffs/{tariff_id}", summary="add or update a tariff and assign it to connectors")
async def put_tariff(request: Request, body: TariffIn, tariff_id: str = TARIFF_ID):
    bands: Any = None
    if body.bands is not None:
        bands = [
            {"from": b.from_, "to": b.to, "energy_rate": float(b.energyRate)} for b in body.bands
        ]
    try:
        params = tariff_params(tariff_id, body.energyRate, body.taxRate, body.currency, bands)
    except ValueError as exc:
        raise _refused(exc) from None
    connectors = [(c.chargePointId, c.connectorId) for c in body.connectors]
    db = request.app.state.db
    try:
        await db.in_thread(lambda conn: save_tariff(conn, params, connectors))
    except psycopg.errors.ForeignKeyViolation:
        raise Problem(409, "a connector's charge point does not exist") from None
    row = await db.one("api_tariffs", {"tariff_id": tariff_id, "limit": 1, "offset": 0})
    return {k: v for k, v in row.items() if k != "total"}


class MeterIn(BaseModel):
    kind: Literal["prepay", "prosumer"] = "prepay"
    dualRate: bool = False
    name: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, max_length=64, examples=["Asia/Kolkata"])
    accountId: str | None = Field(None, min_length=1, max_length=64)


@router.get("/meters", summary="the meter registry")
async def list_meters(request: Request, paging: Page = Depends(page)):
    filters = {"account_id": None, "meter": None, "low_balance": None, "offline": None}
    rows = await request.app.state.db.all(
        "api_meters", filters | {"unhealthy": None} | paging.params
    )
    return _listed(rows, paging)


@router.put("/meters/{serial}", summary="register a meter (with its registers) and its owner")
async def put_meter(request: Request, body: MeterIn, serial: str = SERIAL):
    if body.timezone is not None:
        _check_timezone(body.timezone)
    dsn = request.app.state.config.database_url
    await asyncio.to_thread(meter_admin.save_meter, dsn, serial, body.kind, body.dualRate)
    params = {"serial": serial, "name": body.name, "timezone": body.timezone}
    try:
        row = await request.app.state.db.one(
            "api_update_meter", params | {"account_id": body.accountId}
        )
    except psycopg.errors.ForeignKeyViolation:
        raise Problem(409, f"no account {body.accountId}") from None
    return {"meterId": row["meter_id"], "serial": serial} | body.model_dump()


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Problem(422, f"unknown time zone {name!r}") from None


class AccountIn(BaseModel):
    name: str | None = Field(None, max_length=200)


@router.get("/accounts", summary="accounts, with how many meters and id tags each owns")
async def list_accounts(request: Request, paging: Page = Depends(page)):
    return _listed(await request.app.state.db.all("api_accounts", paging.params), paging)


@router.put("/accounts/{account_id}", summary="add or rename an account")
async def put_account(request: Request, body: AccountIn, account_id: str = ACCOUNT_ID):
    return await request.app.state.db.one(
        "api_save_account", {"account_id": account_id, "name": body.name}
    )
