"""Liveness and readiness without a token (for orchestrators), and the Prometheus text: the
answers every wattline process gives (wattline/observe/health.py), the readiness probe through
the API's own pool (a query, not a new connection every few seconds)."""

from __future__ import annotations

import asyncio

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from psycopg_pool import PoolTimeout

from wattline.observe.health import DB_TIMEOUT_S, answer

router = APIRouter(tags=["health"])


def _response(status: int, content_type: str, body: bytes) -> Response:
    return Response(body, status_code=status, media_type=content_type)


@router.get("/healthz", summary="the process is alive (its event loop answers)")
async def healthz():
    return _response(*answer("/healthz", []))


@router.get("/readyz", summary="the database answers", responses={503: {"description": "not"}})
async def readyz(request: Request):
    problems = []
    try:
        await asyncio.wait_for(request.app.state.db.one("api_ready"), DB_TIMEOUT_S + 1)
    except (psycopg.Error, PoolTimeout, TimeoutError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        problems.append(f"database unreachable: {first[:200]}")
    return _response(*answer("/readyz", problems))


@router.get("/metrics", summary="Prometheus text format")
async def prometheus():
    return _response(*answer("/metrics"))
