"""Operator commands: rows in ``commands`` reach the charge point through LISTEN/NOTIFY.

The process holding a charge point's connection claims its requested commands (so only one
process sends each, once), sends them as CALLs, and writes back the answer, the CALLERROR or
the time-out. Commands requested while the charge point was away go out when it connects.

A process that dies between sending a command and writing its answer leaves it `sent`; one
requested for a charge point that never comes back stays `requested`. Every central system
(and `wattline jobs`) sweeps both periodically (sweep_commands in sql/queries/ocpp.sql): past
the time-out plus SWEEP_MARGIN_S a `sent` command is timed_out, and a `requested` one whose
charge point has not been heard from for the expiry is failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from ocpp.exceptions import OCPPError
from psycopg.types.json import Jsonb
from websockets.exceptions import ConnectionClosed

from ingest.ocpp import redact
from ingest.ocpp.frames import ERROR_CODES_1_6
from ingest.ocpp.lookup import DatabaseUnavailable, Lookup
from sql import db, queries

log = logging.getLogger(__name__)

CHANNEL = "wattline_commands"
# Between a command's sent_at (the claim) and its sender writing the time-out lie an await and
# a round trip; a sweep waits this long past the time-out before calling the sender dead.
SWEEP_MARGIN_S = 30.0
# ChangeConfiguration answers after which the charge point uses the new AuthorizationKey.
KEY_TAKEN = ("Accepted", "RebootRequired")


def sweep_params(timeout_s: float, expiry_s: float) -> dict[str, float]:
    return {"lost_after_s": timeout_s + SWEEP_MARGIN_S, "expire_after_s": expiry_s}


class CommandDispatcher:
    def __init__(
        self,
        dsn: str,
        lookup: Lookup,
        connection_of: Callable[[str], Any],
        *,
        timeout_s: float,
        expiry_s: float,
        sweep_interval_s: float = 30.0,
        retry_interval_s: float = 2.0,
        on_new_key: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.dsn = dsn
        self.lookup = lookup
        self.connection_of = connection_of  # charge point id -> its connection here, or None
        self.timeout_s = timeout_s
        self.retry_interval_s = retry_interval_s
        self.sweep_interval_s = sweep_interval_s
        # Called when a charge point accepts a new AuthorizationKey (its next login's password).
        self.on_new_key = on_new_key
        self._sweep = sweep_params(timeout_s, expiry_s)
        self.listening = asyncio.Event()
        self._listener: asyncio.Task | None = None
        self._sweeper: asyncio.Task | None = None
        self._delivering: dict[str, asyncio.Task] = {}
        self._again: set[str] = set()

    async def start(self, connected: Callable[[], list[str]]) -> None:
        self._listener = asyncio.create_task(self._listen(connected), name="wattline-commands")
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="wattline-sweep")

    async def stop(self) -> None:
        tasks = [t for t in [self._listener, self._sweeper, *self._delivering.values()] if t]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def wake(self, charge_point_id: str) -> None:
        """Deliver whatever is requested for this charge point, if it is connected here."""
        if self.connection_of(charge_point_id) is None:
            return
        running = self._delivering.get(charge_point_id)
        if running and not running.done():
            self._again.add(charge_point_id)  # the running delivery claims once more
            return
        self._delivering[charge_point_id] = asyncio.create_task(self._deliver(charge_point_id))

    async def _listen(self, connected: Callable[[], list[str]]) -> None:
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(
                    db.with_session_options(self.dsn), autocommit=True, connect_timeout=5
                )
                async with conn:
                    await conn.execute(queries.get("listen_commands"))
                    self.listening.set()
                    # Anything requested while we were not listening.
                    for charge_point_id in connected():
                        self.wake(charge_point_id)
                    async for notice in conn.notifies():
                        self.wake(notice.payload)
            except psycopg.OperationalError as exc:
                self.listening.clear()
                log.warning("commands: cannot listen (%s); retrying", exc)
                await asyncio.sleep(self.retry_interval_s)

    async def sweep(self) -> dict[str, int]:
        """Time out commands whose sender died and expire those nobody can send; the counts."""
        row = await self.lookup.one(("sweep_commands", self._sweep))
        if row["timed_out"] or row["expired"]:
            log.warning("commands swept: %(timed_out)d timed out, %(expired)d expired", row)
        return row

    async def _sweep_forever(self) -> None:
        while True:  # first at start: what a dead predecessor left is cleared at once
            try:
                await self.sweep()
            except DatabaseUnavailable:
                pass  # the next round will do
            except psycopg.Error as exc:
                log.error("commands: sweep failed: %s", exc)
            await asyncio.sleep(self.sweep_interval_s)

    async def _deliver(self, charge_point_id: str) -> None:
        while True:
            self._again.discard(charge_point_id)
            try:
                claimed = await self.lookup.all(
                    "claim_commands", {"charge_point_id": charge_point_id}
                )
            except DatabaseUnavailable:
                return  # the listener wakes us again when it is back
            for command in claimed:  # one, the oldest (claim_commands)
                await self._send(charge_point_id, command)
            if not claimed and charge_point_id not in self._again:
                return

    async def _send(self, charge_point_id: str, command: dict[str, Any]) -> None:
        response, error, status = None, None, "answered"
        connection = self.connection_of(charge_point_id)
        payload, new_key = await self._with_secret(command)
        try:
            if connection is None:
                raise ConnectionError("the charge point disconnected")
            if payload is None:
                raise ValueError("its AuthorizationKey is gone (taken by an earlier claim)")
            response = await asyncio.wait_for(
                connection.send_command(command["action"], payload), self.timeout_s
            )
            if new_key is not None and response.get("status") in KEY_TAKEN:
                await self._new_key(charge_point_id, new_key)
        except TimeoutError:
            status, error = "timed_out", f"no answer within {self.timeout_s:g} s"
        except OCPPError as exc:
            code = ERROR_CODES_1_6.get(exc.code, exc.code)
            cause = exc.details.get("cause", "") if isinstance(exc.details, dict) else ""
            status, error = "failed", f"{code}: {exc.description} {cause}".strip()
        except (TypeError, ValueError) as exc:
            status, error = "failed", f"bad payload for {command['action']}: {exc}"
        except (ConnectionError, ConnectionClosed) as exc:
            status, error = "failed", f"connection lost: {exc}"
        except Exception as exc:  # e.g. a CALLERROR code the library does not know
            log.exception("command %s failed", command["id"])
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        params = {
            "id": command["id"],
            "status": status,
            "response": Jsonb(redact.payload(response)) if response is not None else None,
            "error": error,
        }
        try:
            await self.lookup.one(("finish_command", params))
        except DatabaseUnavailable:
            log.error("command %s: %s; the database is away to record it", command["id"], status)

    async def _with_secret(self, command: dict[str, Any]) -> tuple[dict | None, str | None]:
        """The payload to send, with the AuthorizationKey the row does not keep (0019) put back,
        and that key; it lives only here, in memory, until the answer comes."""
        payload = command["payload"]
        if command["action"] != "ChangeConfiguration" or not redact.is_authorization_key(payload):
            return payload, None
        try:
            row = await self.lookup.one(("take_command_secret", {"command_id": command["id"]}))
        except DatabaseUnavailable:
            row = None
        if row is None:
            return None, None
        return {**payload, "value": row["value"]}, row["value"]

    async def _new_key(self, charge_point_id: str, key: str) -> None:
        if self.on_new_key is None:
            return
        try:
            await self.on_new_key(charge_point_id, key)
        except (DatabaseUnavailable, psycopg.Error) as exc:
            # The charge point will log in with a key we could not record: say so loudly.
            log.error("%s: accepted a new AuthorizationKey, not stored: %s", charge_point_id, exc)
