"""Helpers for the OCPP tests: a central system on a free port against the test's own database,
and real WebSocket clients (the ocpp library's ChargePoint for whole sessions, raw frames for bad
input). A module of its own name: test directories each have a conftest, so importing from
"conftest" would pick whichever was loaded first."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import websockets
from databases import drop_database
from ocpp.v16 import ChargePoint

from ingest.ocpp.config import OcppConfig
from ingest.ocpp.server import CentralSystem
from sql import db

TEST_CONFIG = OcppConfig(
    host="127.0.0.1",
    port=0,
    allow_unknown_chargers=True,
    max_frame_bytes=16_384,
    ping_interval_s=0.5,
    ping_timeout_s=0.5,
    close_timeout_s=0.5,
    command_timeout_s=2,
    retry_interval_s=0.2,
)


@asynccontextmanager
async def running(config: OcppConfig, dsn: str) -> AsyncIterator[CentralSystem]:
    system = CentralSystem(config, dsn)
    await system.start()
    try:
        yield system
    finally:
        await system.stop()


async def seen_then_database_gone(system: CentralSystem, name: str, *identities: str) -> None:
    """Each charge point connects once (its credentials cached), then database ``name`` is
    dropped: a charge point never seen would be refused (503) while the database is away."""
    for identity in identities:
        async with charge_point(system, identity):
            pass
    drop_database(name)


def basic_auth(user: str, password: str) -> dict[str, str]:
    """HTTP Basic, as a charge point of security profile 1 or 2 sends it."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def url_of(system: CentralSystem, identity: str) -> str:
    return f"ws://127.0.0.1:{system.port}/ocpp/{identity}"


@asynccontextmanager
async def charge_point(
    system: CentralSystem,
    identity: str,
    cls: type[Any] = ChargePoint,
    subprotocol: str = "ocpp1.6",
    **connect: Any,
) -> AsyncIterator[Any]:
    """A connected ocpp-library charge point (1.6, or a v201 ChargePoint with "ocpp2.0.1"),
    serving the central system's calls."""
    async with websockets.connect(
        url_of(system, identity), subprotocols=[subprotocol], **connect
    ) as ws:
        client = cls(identity, ws)
        task = asyncio.create_task(client.start())
        try:
            yield client
        finally:
            task.cancel()


@asynccontextmanager
async def raw_socket(system: CentralSystem, identity: str) -> AsyncIterator[Any]:
    async with websockets.connect(url_of(system, identity), subprotocols=["ocpp1.6"]) as ws:
        yield ws


async def exchange(ws: Any, frame: str | list, timeout: float = 5) -> list:
    """Send one frame and return the answer, parsed."""
    await ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def query(dsn: str, sql: str, params: Any = None) -> list[dict[str, Any]]:
    with db.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def execute(dsn: str, sql: str, params: Any = None) -> None:
    with psycopg.connect(db.with_session_options(dsn), autocommit=True) as conn:
        conn.execute(sql, params)


async def eventually(check: Callable[[], Any | Awaitable[Any]], timeout: float = 5.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {result!r})")
        await asyncio.sleep(0.05)


def finished_commands(db_url: str, count: int) -> Callable[[], list[dict[str, Any]] | None]:
    """For ``eventually``: the commands no longer requested or sent, once there are ``count``."""

    def check() -> list[dict[str, Any]] | None:
        rows = query(
            db_url,
            "SELECT action, status, response, error FROM wattline.commands"
            " WHERE status NOT IN ('requested', 'sent') ORDER BY id",
        )
        return rows if len(rows) == count else None

    return check
