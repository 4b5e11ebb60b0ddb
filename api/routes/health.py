"""Liveness and readiness without a token (for orchestrators), and the Prometheus text."""

from __future__ import annotations

import asyncio

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from psycopg_pool import PoolTimeout

from api import problems

router = APIRouter(tags=["health"])
READY_TIMEOUT_S = 3.0


@router.get("/healthz", summary="the process is alive")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", summary="the database answers", responses={503: {"description": "not"}})
async def readyz(request: Request):
    try:
        await asyncio.wait_for(request.app.state.db.one("api_ready"), READY_TIMEOUT_S)
    except (psycopg.Error, PoolTimeout, TimeoutError):
        return problems.response(503, "the database is not reachable", {"Retry-After": "5"})
    return {"status": "ready"}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus text format")
async def metrics(request: Request) -> str:
    counts = request.app.state.responses
    lines = [
        "# HELP wattline_api_responses_total Responses by status code.",
        "# TYPE wattline_api_responses_total counter",
    ]
    lines += [f'wattline_api_responses_total{{code="{c}"}} {n}' for c, n in sorted(counts.items())]
    return "\n".join(lines) + "\n"
