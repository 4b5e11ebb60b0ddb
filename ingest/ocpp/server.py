"""The WebSocket server: ``ws(s)://HOST:PORT/ocpp/{charge_point_id}``, subprotocol ocpp2.0.1 or
ocpp1.6, whichever the charge point offers (2.0.1 when it offers both).

The handshake decides who may connect (identity syntax, unknown charge points, security
profiles: HTTP Basic passwords, TLS, client certificates) and records every refusal in
``security_events``; each connection gets a ``CentralSystemChargePoint``. A second connection
with the same identity replaces the first only if it proved the same credentials (else 409);
across processes, an advisory lock per identity (``presence``) keeps one live connection. Dead
peers are found by WebSocket ping time-outs; frames over the size limit close the connection
(1009). One writer serves every connection, so commits are shared.
"""

from __future__ import annotations

import asyncio
import http
import logging
import signal
import ssl
import time
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.typing import Subprotocol

from ingest.ocpp import redact
from ingest.ocpp.auth import (
    Verdict,
    basic_credentials,
    check_connection,
    hash_password,
    identity_from,
)
from ingest.ocpp.commands import CommandDispatcher
from ingest.ocpp.config import OcppConfig
from ingest.ocpp.gate import Busy, FailureLimiter, Passwords
from ingest.ocpp.handlers import CentralSystemChargePoint
from ingest.ocpp.heap import Heap
from ingest.ocpp.lookup import DatabaseUnavailable, Lookup
from ingest.ocpp.presence import Presence
from ingest.ocpp.security_log import SecurityEvents
from ingest.ocpp.service import ChargingService
from ingest.ocpp201.handlers import CentralSystem201ChargePoint
from ingest.supervise import Watchdog
from ingest.writer import Writer
from wattline import logs
from wattline.observe import health, metrics

log = logging.getLogger(__name__)

# In order of preference: websockets picks the first of these the client offers.
SUBPROTOCOLS = [Subprotocol("ocpp2.0.1"), Subprotocol("ocpp1.6")]
CHARGE_POINTS = {"ocpp2.0.1": CentralSystem201ChargePoint, "ocpp1.6": CentralSystemChargePoint}
PATH_PREFIX = "/ocpp/"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def charge_point_id_of(path: str) -> str | None:
    """The identity in ``/ocpp/{id}``, or None when the path is not one (auth.identity_from)."""
    path = urlsplit(path).path
    if not path.startswith(PATH_PREFIX):
        return None
    return identity_from(path[len(PATH_PREFIX) :])


# Credentials kept for handshakes while the database is away (the oldest forgotten first).
MAX_KNOWN = 200_000

# Refusals that spend a token of the remote address's and the identity's failure budget; a
# missing password is not one (clients may send it only once challenged with the 401).
FAILURES = frozenset({"unknown_identity", "bad_password", "bad_identity", "certificate_mismatch"})


class CentralSystem:
    def __init__(self, config: OcppConfig, dsn: str) -> None:
        self.config = config
        self.writer = Writer(
            dsn, spool_path=config.spool_path, retry_interval_s=config.retry_interval_s
        )
        self.lookup = Lookup(dsn)
        self.service = ChargingService(self.writer, self.lookup)
        redact.install()
        self.passwords = Passwords(workers=config.auth_workers, ttl_s=config.auth_cache_s)
        limits = (config.failures_burst, config.failures_per_minute)
        self.failures_by_address = FailureLimiter(*limits)
        self.failures_by_identity = FailureLimiter(*limits)
        self.security = SecurityEvents(dsn)
        self.presence = Presence(dsn)
        # Handshakes accepted whose connection has not started yet, by identity.
        self._arriving: dict[str, ServerConnection] = {}
        self.connected: dict[str, CentralSystemChargePoint] = {}
        self.commands = CommandDispatcher(
            dsn,
            self.lookup,
            self.connected.get,
            timeout_s=config.command_timeout_s,
            expiry_s=config.command_expiry_s,
            sweep_interval_s=config.command_sweep_interval_s,
            on_new_key=self._store_new_key,
        )
        self._known: dict[str, dict] = {}  # credentials, for handshakes while the database is away
        self._registration: dict[ServerConnection, str] = {}
        self._closing: set[asyncio.Task] = set()
        self._server: Server | None = None
        self.heap = Heap()
        self.health = health.Health(dsn, writer=self.writer)
        metrics.watch(metrics.CONNECTIONS, lambda: len(self.connected))
        metrics.fleet_ages("ocpp", lambda: [cp.frames.last_in for cp in self.connected.values()])

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self.security.start()
        await self.writer.start()
        self._server = await serve(
            self._serve_connection,
            self.config.host,
            self.config.port,
            subprotocols=SUBPROTOCOLS,
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
        await self._step("security events stored", self.security.stop())
        await self.presence.close()  # the identities' locks go with its session
        self.passwords.close()
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
        if self.config.tls_ca is not None:
            # Optional at the TLS layer: profile 1 and 2 charge points have no certificate; the
            # handshake asks for one of those set to profile 3. One presented must verify.
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(cafile=str(self.config.tls_ca))
        return context

    async def _check_handshake(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        address = _address_of(connection)
        if urlsplit(request.path).path in health.PATHS:  # plain HTTP: probes and scrapes
            return await self._observe(connection, urlsplit(request.path).path)
        if not urlsplit(request.path).path.startswith(PATH_PREFIX):
            return connection.respond(http.HTTPStatus.NOT_FOUND, "use /ocpp/{charge_point_id}\n")
        raw_identity = urlsplit(request.path).path[len(PATH_PREFIX) :]
        if self.failures_by_address.limited(address):
            # Not recorded one by one: the failures that led here were.
            return self._refuse(connection, 429, "too many failed attempts", None, address, None)
        identity = charge_point_id_of(request.path)
        if identity is None:
            reason = "not a charge point identity (printable ASCII, no '/', 1-48 characters)"
            return self._refuse(connection, 400, reason, raw_identity, address, "bad_identity")
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        if not set(SUBPROTOCOLS) & {p.strip() for p in offered.split(",")}:
            needed = "subprotocol ocpp2.0.1 or ocpp1.6 needed\n"
            return connection.respond(http.HTTPStatus.BAD_REQUEST, needed)
        if len(self.connected) + len(self._arriving) >= self.config.max_connections:
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "try again later\n")
        authorization = request.headers.get("Authorization")
        if self.passwords.full and authorization and not self._known_login(identity, authorization):
            # A fleet reconnecting at once: its retries must not cost a look-up each until a
            # password can be checked again (logins checked before still go through).
            return _busy(connection)
        try:
            known = await self.lookup.one(
                ("charge_point_credentials", {"charge_point_id": identity})
            )
            if known is not None or self.config.allow_unknown_chargers:
                self._known[identity] = known  # "not registered" is an answer to keep too
                if len(self._known) > MAX_KNOWN:
                    self._known.pop(next(iter(self._known)))
            else:
                self._known.pop(identity, None)
        except DatabaseUnavailable:
            if identity not in self._known:
                # Nobody can tell whether it needs a password: never let it in unchecked.
                return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "try again\n")
            known = self._known[identity]
        verdict = check_connection(
            identity,
            known,
            authorization,
            allow_unknown=self.config.allow_unknown_chargers,
            tls=connection.transport.get_extra_info("sslcontext") is not None,
            peer_cn=_peer_cn(connection),
            trust_proxy_tls=self.config.trust_proxy_tls,
        )
        if verdict.password is not None:
            verdict = await self._check_password(identity, known, verdict.password, address)
        if verdict.status == http.HTTPStatus.SERVICE_UNAVAILABLE:
            return _busy(connection)
        if verdict.status is not None:
            refused = self._refuse(
                connection, verdict.status, verdict.reason, identity, address, verdict.event
            )
            if verdict.status == http.HTTPStatus.UNAUTHORIZED:
                refused.headers["WWW-Authenticate"] = 'Basic realm="wattline", charset="UTF-8"'
            return refused
        return await self._admit(connection, identity, known, verdict, address)

    async def _observe(self, connection: ServerConnection, path: str) -> Response:
        """/healthz, /readyz or /metrics (wattline/observe), answered on the OCPP port."""
        status, content_type, body = await health.respond_async(self.health, path)
        response = connection.respond(http.HTTPStatus(status), body.decode())
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = content_type
        return response

    async def _check_password(
        self, identity: str, known: dict, password: str, address: str
    ) -> Verdict:
        stored = known["password_hash"]
        wrong = Verdict(401, "wrong identity or password", "bad_password")
        if self.passwords.cached(identity, password, stored):
            return Verdict(None, credentialed=True)
        by_address, by_identity = self.failures_by_address, self.failures_by_identity
        if by_identity.limited(identity) or by_address.limited(address):
            # Only a password checked before gets in while its identity is under attack.
            return Verdict(429, "too many failed attempts", None)
        try:
            with by_address.attempt(address), by_identity.attempt(identity):
                checked = await self.passwords.check(identity, password, stored)
        except Busy:
            return Verdict(503, BUSY, None)
        if not checked.ok:
            return wrong
        if checked.rehash:
            self._spawn(self._rehash(identity, password, stored))
        return Verdict(None, credentialed=True)

    def _known_login(self, identity: str, authorization: str) -> bool:
        """The password in ``authorization`` was checked for ``identity`` a while ago."""
        known = self._known.get(identity)
        credentials = basic_credentials(authorization)
        if not known or not known["password_hash"] or credentials is None:
            return False
        username, password = credentials
        return username == identity and self.passwords.cached(
            identity, password, known["password_hash"]
        )

    async def _admit(
        self,
        connection: ServerConnection,
        identity: str,
        known: dict | None,
        verdict: Verdict,
        address: str,
    ) -> Response | None:
        """One live connection per identity: a newcomer that proved the charge point's
        credentials replaces the one here; anything else is refused while it lives."""
        arriving = self._arriving.get(identity)
        if arriving is not None and arriving.state is State.CLOSED:
            del self._arriving[identity]  # accepted, then gone before its connection started
        here = identity in self.connected or identity in self._arriving
        if here and not verdict.credentialed:
            reason = "already connected; only its credentials can replace that connection"
            return self._refuse(connection, 409, reason, identity, address, "takeover_refused")
        self._arriving[identity] = connection
        if not here and identity not in self.presence.held:
            if await self.presence.take(identity) is False:
                if self._arriving.get(identity) is connection:
                    del self._arriving[identity]
                reason = "already connected to another central system process"
                return self._refuse(connection, 409, reason, identity, address, "takeover_refused")
        self._registration[connection] = known["registration_status"] if known else "Accepted"
        return None

    def _refuse(
        self,
        connection: ServerConnection,
        status: int,
        reason: str,
        identity: str | None,
        address: str,
        event: str | None = "refused",
    ) -> Response:
        if event is not None:
            self.security.record(event, identity, address, status=status, reason=reason)
        if event in FAILURES:
            self.failures_by_address.failed(address)
            if identity is not None and event != "bad_identity":
                self.failures_by_identity.failed(identity)
        return connection.respond(http.HTTPStatus(status), reason + "\n")

    async def _rehash(self, identity: str, password: str, old_hash: str) -> None:
        new_hash = await self.passwords.run(hash_password, password)
        params = {"charge_point_id": identity, "new_hash": new_hash, "old_hash": old_hash}
        try:
            await self.lookup.one(("rehash_password", params))
        except DatabaseUnavailable:
            pass  # the next login tries again

    async def _store_new_key(self, identity: str, key: str) -> None:
        """A charge point took a new AuthorizationKey: its next login uses it as password."""
        new_hash = await self.passwords.run(hash_password, key)
        params = {"charge_point_id": identity, "password_hash": new_hash}
        await self.lookup.one(("set_password_hash", params))
        self._known.pop(identity, None)
        self.security.record("authorization_key_changed", identity, None)

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _serve_connection(self, connection: ServerConnection) -> None:
        identity = charge_point_id_of(connection.request.path)
        assert identity is not None  # the handshake refused anything else
        # This task serves one connection: its log lines (and its children's) name the charger.
        logs.charge_point.set(identity)
        log.info("%s: connected", identity)
        if self._arriving.get(identity) is connection:
            del self._arriving[identity]
        charge_point = CHARGE_POINTS[connection.subprotocol or "ocpp1.6"](
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
                if identity not in self._arriving:
                    self.presence.give_up(identity)
            await charge_point.frames.flush()
            self.heap.connection_closed()

    def _close_later(self, charge_point: CentralSystemChargePoint, reason: str) -> None:
        # The old peer may be dead; closing waits for it, the new connection must not.
        self._spawn(charge_point.wire.close(1000, reason))


BUSY = "busy, try again"


def _busy(connection: ServerConnection) -> Response:
    response = connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, BUSY + "\n")
    response.headers["Retry-After"] = "5"
    return response


def _address_of(connection: ServerConnection) -> str:
    peer = connection.remote_address
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


def _peer_cn(connection: ServerConnection) -> str | None:
    """The common name of a client certificate that verified against WATTLINE_OCPP_TLS_CA."""
    cert = connection.transport.get_extra_info("peercert")
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None
