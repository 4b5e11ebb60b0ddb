"""A small HTTP server on a thread of its own for /healthz, /readyz and /metrics, for the
processes that have no HTTP server of their own (`wattline mqtt`, `jobs`, `dashboard`; the
OCPP server answers them on its WebSocket port, ingest/ocpp/server.py).

A thread rather than the event loop: it must still answer, with a 503, when the loop is
stuck, and `jobs` and the dashboard have no loop. Standard library only.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from wattline.observe.health import Health, respond

log = logging.getLogger(__name__)


def port_from_env(name: str, default: int, env: Mapping[str, str] | None = None) -> int:
    """The port in ``name`` (0: no server). A bad value stops the program with a message."""
    env = os.environ if env is None else env
    value = env.get(name) or str(default)
    if not value.isdigit() or int(value) > 65535:
        raise SystemExit(f"{name}={value!r}: a port number, or 0 for none")
    return int(value)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        try:
            status, content_type, body = respond(self.server.health, urlsplit(self.path).path)
        except Exception:  # a bug in a check must not look like a healthy process
            log.exception("health check failed")
            status, content_type, body = 500, "text/plain; charset=utf-8", b"check failed\n"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # a probe every few seconds would drown the process's own log


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], health: Health) -> None:
        super().__init__(address, _Handler)
        self.health = health


class SideServer:
    """The server and its thread; ``port`` is the one bound (useful with port 0 in tests)."""

    def __init__(self, health: Health, port: int, host: str = "0.0.0.0") -> None:
        self._server = _Server((host, port), health)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="wattline-health-http", daemon=True
        )

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> SideServer:
        self._thread.start()
        log.info("health and metrics on http://%s:%d/", *self._server.server_address[:2])
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve(health: Health, port: int, host: str | None = None) -> SideServer | None:
    """Start serving on ``port`` (host WATTLINE_HTTP_HOST, default all addresses), or do
    nothing for port 0. A port that cannot be had is logged, and the process goes on without
    the server: ingest matters more than its probes (which then fail, and say so)."""
    if port == 0:
        return None
    host = host or os.environ.get("WATTLINE_HTTP_HOST") or "0.0.0.0"
    try:
        return SideServer(health, port, host).start()
    except OSError as exc:
        log.error("no health and metrics server on %s:%d: %s", host, port, exc)
        return None


_once_lock = threading.Lock()
_once: dict[str, SideServer | None] = {}


def serve_once(key: str, make_health, port: int) -> SideServer | None:
    """``serve`` the first time a process asks for ``key``, nothing after: a Streamlit
    script runs again on every interaction, its modules stay imported."""
    with _once_lock:
        if key not in _once:
            _once[key] = serve(make_health(), port)
        return _once[key]
