"""What /healthz and /readyz check, for every long-running process (and the HTTP API).

- live (/healthz): the process does its job: its writer task is running and its event loop
  answers. A failing liveness check means "restart me".
- ready (/readyz): it can take work now: the database answers a query within a short time,
  and the spool is below its cap (WATTLINE_SPOOL_MAX_BYTES), so what it acknowledges is
  durable. A failing readiness check means "send nothing my way for now".

Each check returns the list of problems, empty when all is well; ``answer`` turns that into
the HTTP status and JSON body every process serves the same way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import psycopg

from wattline.observe import metrics

DB_TIMEOUT_S = 2.0  # libpq's connect_timeout takes whole seconds, at least 2
LOOP_TIMEOUT_S = 2.0  # an event loop that cannot run a callback in this time is stuck
PATHS = ("/healthz", "/readyz", "/metrics")


class Health:
    """The checks of one process. ``writer``: its ingest.writer.Writer, if it has one;
    ``loop``: the event loop to check from another thread (a side HTTP server); ``alive``:
    any further liveness check of the process's own, a problem string or None."""

    def __init__(
        self,
        dsn: str,
        *,
        writer: Any = None,
        loop: asyncio.AbstractEventLoop | None = None,
        alive: Callable[[], str | None] | None = None,
    ) -> None:
        self.dsn = dsn
        self.writer = writer
        self.loop = loop
        self.alive = alive

    def live(self) -> list[str]:
        """Safe from any thread; from the loop's own thread, ``loop`` must be None."""
        problems = [p for p in (self._writer_problem(), self._own_problem()) if p]
        if self.loop is not None and not _loop_answers(self.loop):
            problems.append(f"the event loop did not answer within {LOOP_TIMEOUT_S:g} s")
        return problems

    def ready(self) -> list[str]:
        """From a thread of its own (it blocks for up to DB_TIMEOUT_S)."""
        return [p for p in (database_problem(self.dsn), self._spool_problem()) if p]

    async def ready_async(self) -> list[str]:
        """From the event loop."""
        problem = await database_problem_async(self.dsn)
        return [p for p in (problem, self._spool_problem()) if p]

    def _writer_problem(self) -> str | None:
        if self.writer is not None and not self.writer.alive:
            return "the writer task is not running"
        return None

    def _own_problem(self) -> str | None:
        return self.alive() if self.alive is not None else None

    def _spool_problem(self) -> str | None:
        writer = self.writer
        spool = None if writer is None else writer.spool
        if spool is None:
            return None
        if writer.spool_full or spool.size >= spool.max_bytes:
            return (
                f"the spool is full ({spool.size} bytes, cap {spool.max_bytes}, "
                "WATTLINE_SPOOL_MAX_BYTES): nothing new can be confirmed"
            )
        return None


def database_problem(dsn: str) -> str | None:
    try:
        with psycopg.connect(dsn, connect_timeout=int(DB_TIMEOUT_S)) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, OSError) as exc:
        return _unreachable(exc)
    return None


async def database_problem_async(dsn: str) -> str | None:
    async def probe() -> None:
        conn = await psycopg.AsyncConnection.connect(dsn, connect_timeout=int(DB_TIMEOUT_S))
        async with conn:
            await conn.execute("SELECT 1")

    try:
        await asyncio.wait_for(probe(), DB_TIMEOUT_S + 1)
    except (psycopg.Error, OSError, TimeoutError) as exc:
        return _unreachable(exc)
    return None


def _unreachable(exc: BaseException) -> str:
    # libpq's message names host and port, never the password.
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"database unreachable: {first[:200]}"


def _loop_answers(loop: asyncio.AbstractEventLoop) -> bool:
    if loop.is_closed() or not loop.is_running():
        return False

    async def nothing() -> None:
        return None

    try:
        asyncio.run_coroutine_threadsafe(nothing(), loop).result(LOOP_TIMEOUT_S)
    except Exception:
        return False
    return True


def answer(path: str, problems: list[str] | None = None) -> tuple[int, str, bytes]:
    """Status, content type and body for ``path``: /metrics, or /healthz and /readyz given
    the problems their check found (200 with {"status": "ok"}, else 503 with them)."""
    if path == "/metrics":
        body, content_type = metrics.render()
        return 200, content_type, body
    if path not in PATHS:
        return 404, "text/plain; charset=utf-8", b"not found: try /healthz, /readyz, /metrics\n"
    document: dict[str, Any] = {"status": "failing" if problems else "ok"}
    if problems:
        document["problems"] = problems
    body = (json.dumps(document) + "\n").encode()
    return (503 if problems else 200), "application/json", body


def respond(health: Health, path: str) -> tuple[int, str, bytes]:
    """The answer for ``path``, checking from a thread other than the event loop's."""
    if path == "/healthz":
        return answer(path, health.live())
    if path == "/readyz":
        return answer(path, health.ready())
    return answer(path)


async def respond_async(health: Health, path: str) -> tuple[int, str, bytes]:
    """The answer for ``path``, checking from the event loop itself (which, answering, is
    evidently running)."""
    if path == "/healthz":
        return answer(path, health.live())
    if path == "/readyz":
        return answer(path, await health.ready_async())
    return answer(path)
