"""Operator commands: the same actions and checks as `wattline command` (ingest/ocpp/admin.py),
the same insert; the central system holding the charge point sends it and writes the answer."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from api.auth import OPERATE
from api.problems import Problem, not_found
from api.routes.charge_points import CHARGE_POINT_ID
from api.tokens import Principal
from ingest.ocpp.admin import ACTIONS, command_params

router = APIRouter(tags=["commands"])
Action = Literal[ACTIONS]  # the CLI's list: `wattline command` accepts the same


class CommandRequest(BaseModel):
    action: Action
    payload: dict[str, Any] = Field(
        default_factory=dict, description="OCPP 1.6 field names", examples=[{"type": "Soft"}]
    )


def _command(row: dict) -> dict:
    return {
        "id": row["id"],
        "chargePointId": row["charge_point_id"],
        "action": row["action"],
        "payload": row["payload"],
        "status": row["status"],
        "requestedBy": row["requested_by"],
        "requestedAt": row["requested_at"],
        "sentAt": row["sent_at"],
        "answeredAt": row["answered_at"],
        "response": row["response"],
        "error": row["error"],
    }


@router.post(
    "/charge-points/{charge_point_id}/commands",
    status_code=202,
    summary="request a command; poll GET /commands/{id} for the answer",
)
async def request_command(
    request: Request,
    body: CommandRequest,
    charge_point_id: str = CHARGE_POINT_ID,
    who: Principal = OPERATE,
):
    db = request.app.state.db
    if await db.one("api_charge_point_exists", {"charge_point_id": charge_point_id}) is None:
        raise not_found("charge point", charge_point_id)
    try:
        params = command_params(charge_point_id, body.action, body.payload, f"api:{who.subject}")
    except ValueError as exc:
        raise Problem(422, str(exc)) from None
    row = await db.one("request_command", params)
    return _command(await db.one("api_command", {"id": row["id"]}))


@router.get("/commands/{command_id}", summary="a command's status and the charge point's answer")
async def get_command(
    request: Request,
    command_id: int = Path(ge=1, le=2**63 - 1),
    _=OPERATE,
):
    row = await request.app.state.db.one("api_command", {"id": command_id})
    if row is None:
        raise not_found("command", command_id)
    return _command(row)
