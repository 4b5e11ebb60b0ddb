"""The WebSocket server: ``ws(s)://HOST:PORT/ocpp/{charge_point_id}``, subprotocol ocpp1.6.

The handshake decides who may connect (unknown charge points, HTTP Basic passwords); each
connection gets a ``CentralSystemChargePoint``. A second connection with the same identity
replaces the first; dead peers are found by WebSocket ping time-outs; frames over the size
limit close the connection (1009). One writer serves every connection, so commits are shared.
"""

from __future__ import annotations

import asyncio
import http
import logging
import signal
import ssl
import time
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from ingest.ocpp.auth import check_connection
from ingest.ocpp.commands import CommandDispatcher
from ingest.ocpp.config import OcppConfig
from ingest.ocpp.handlers import CentralSystemChargePoint
from ingest.ocpp.heap import Heap
from ingest.ocpp.lookup import DatabaseUnavailable, Lookup
from ingest.ocpp.service import ChargingService
from ingest.supervise import Watchdog
from ingest.writer import Writer

log = logging.getLogger(__name__)

SUBPROTOCOL = Subprotocol("ocpp1.6")
PATH_PREFIX = "/ocpp/"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def charge_point_id_of(path: str) -> str | None:
    """The identity in ``/ocpp/{id}``, or None when the path is not one."""
    path = urlsplit(path).path
    if not path.startswith(PATH_PREFIX):
        return None
    identity = unquote(path[len(PATH_PREFIX) :])
    if not 1 <= len(identity) <= 48 or "/" in identity:
        return None
    return identity


class CentralSystem:
    def __init__(self, config: OcppConfig, dsn: str) -> None:
        self.config = config
        self.writer = Writer(
            dsn, spool_path=config.spool_path, retry_interval_s=config.retry_interval_s
        )
        self.lookup = Lookup(dsn)
        self.service = ChargingService(self.writer, self.lookup)
        self.connected: dict[str, CentralSystemChargePoint] = {}
        self.commands = CommandDispatcher(
            dsn,
            self.lookup,
            self.connected.get,
            timeout_s=config.command_timeout_s,
            expiry_s=config.command_expiry_s,
            sweep_interval_s=config.command_sweep_interval_s,
        )
        self._known: dict[str, dict] = {}  # credentials, for handshakes while the database is away
        self._registration: dict[ServerConnection, str] = {}
        self._closing: set[asyncio.Task] = set()
        self._server: Server | None = None
        self.heap = Heap()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        await self.writer.start()
        self._server = await serve(
            self._serve_connection,
            self.config.host,
            self.config.port,
            subprotocols=[SUBPROTOCOL],
            process_request=self._check_handshake,
            ping_interval=self.config.ping_interval_s,
            ping_timeout=self.config.ping_timeout_s,
            close_timeout=self.config.close_timeout_s,
            max_size=self.config.max_frame_bytes,
            ssl=self._tls(),
        )
        await self.commands.start(lambda: list(self.connected))

    async def stop(self) -> None:
        # Each step logs how long it took: a stop that overruns its supervisor's patience
        # (bench/ocpp_load.py waits 30 s) then says where the time went.
        if self._server is not None:
            await self._step("connections closed", self._close_server())
        await self._step("commands stopped", self.commands.stop())
        await self._step("writer flushed", self.writer.stop())
        await self._step("lookups closed", self.lookup.close())
        self.heap.stop()

    async def _close_server(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @staticmethod
    async def _step(what: str, step) -> None:
        started = time.monotonic()
        await step
        log.info("stopping: %s in %.1f s", what, time.monotonic() - started)

    async def serve_forever(self) -> int:
        """Run as this process's whole job (``wattline ocpp``) until SIGINT or SIGTERM, or until
        the writer dies; returns the exit code (ingest/supervise.py)."""
        self.heap.start()
        await self.start()
        # The loop's own handlers, not asyncio.run's: a signal that lands on another thread
        # (the executor's) still wakes the loop at once through its wakeup fd, and the stop runs
        # as an ordinary callback rather than from inside whatever bytecode was interrupted.
        loop, stopping = asyncio.get_running_loop(), asyncio.Event()
        watchdog = Watchdog(self.writer, stopping)
        watchdog.start()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stopping.set)
        try:
            await stopping.wait()
            log.info("stopping (%s)", "the writer died" if watchdog.fired else "signal")
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
            await self.stop()
        return watchdog.close()

    def _tls(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None or self.config.tls_key is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        return context

    async def _check_handshake(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        identity = charge_point_id_of(request.path)
        if identity is None:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "use /ocpp/{charge_point_id}\n")
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        if SUBPROTOCOL not in [p.strip() for p in offered.split(",")]:
            return connection.respond(http.HTTPStatus.BAD_REQUEST, "subprotocol ocpp1.6 needed\n")
        try:
            known = await self.lookup.one(
                ("charge_point_credentials", {"charge_point_id": identity})
            )
            if known is None:
                self._known.pop(identity, None)
            else:
                self._known[identity] = known
        except DatabaseUnavailable:
            known = self._known.get(identity)
            if known is None and not self.config.allow_unknown_chargers:
                return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "try again\n")
        verdict = await asyncio.to_thread(
            check_connection,
            identity,
            known,
            request.headers.get("Authorization"),
            allow_unknown=self.config.allow_unknown_chargers,
        )
        if verdict.status is not None:
            log.warning("%s: refused at the handshake (%s)", identity, verdict.reason)
            response = connection.respond(verdict.status, verdict.reason + "\n")
            if verdict.status == http.HTTPStatus.UNAUTHORIZED:
                response.headers["WWW-Authenticate"] = 'Basic realm="wattline", charset="UTF-8"'
            return response
        self._registration[connection] = known["registration_status"] if known else "Accepted"
        return None

    async def _serve_connection(self, connection: ServerConnection) -> None:
        identity = charge_point_id_of(connection.request.path)
        assert identity is not None  # the handshake refused anything else
        charge_point = CentralSystemChargePoint(
            identity,
            connection,
            self.service,
            self.writer,
            registration_status=self._registration.pop(connection, "Accepted"),
            response_timeout_s=self.config.command_timeout_s,
            time_window=self.config.time_window,
        )
        previous = self.connected.get(identity)
        self.connected[identity] = charge_point
        if previous is not None:
            log.info("%s: a new connection replaces the old one", identity)
            self._close_later(previous, "replaced by a newer connection")
        self.commands.wake(identity)
        self.heap.connection_opened()
        try:
            await charge_point.start()
        except ConnectionClosed as exc:
            log.info("%s: disconnected (%s)", identity, exc)
        finally:
            if self.connected.get(identity) is charge_point:
                del self.connected[identity]
            await charge_point.frames.flush()
            self.heap.connection_closed()

    def _close_later(self, charge_point: CentralSystemChargePoint, reason: str) -> None:
        # The old peer may be dead; closing waits for it, the new connection must not.
        task = asyncio.create_task(charge_point._connection.close(1000, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
