"""A running `wattline api` for the tests: a real uvicorn process on a free port, over a real
database of either storage profile, and tokens to call it with."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt

SECRET = "api-test-secret-" + "0123456789abcdef" * 2
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db_url: str, **env: str) -> tuple[subprocess.Popen, str]:
    """`wattline api` on a free port; returns the process and its base URL once it answers."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WATTLINE_")}
    environment |= {"DATABASE_URL": db_url, "WATTLINE_API_SECRET": SECRET} | env
    environment = {k: v for k, v in environment.items() if v is not None and v != ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wattline.cli", "api", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"wattline api exited: {proc.stdout.read().decode()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError("wattline api did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def hs256(
    *scopes: str,
    account: str | None = None,
    secret: str = SECRET,
    ttl: timedelta = timedelta(hours=1),
    audience: str = "wattline",
    issuer: str = "wattline",
    subject: str = "tester",
) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "scope": " ".join(scopes),
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "exp": now + ttl,
    }
    if account:
        claims["account"] = account
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass
class Api:
    url: str
    db_url: str
    profile: str

    def call(self, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kw)

    def get(self, path: str, token: str | None = None, **kw) -> httpx.Response:
        return self.call("GET", path, token, **kw)

    def json(self, path: str, *scopes: str, account: str | None = None, **kw):
        """GET with a token of these scopes (admin if none); the body of a 200."""
        r = self.get(path, hs256(*(scopes or ("admin",)), account=account), **kw)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()


def problem(r: httpx.Response, status: int) -> dict:
    """The RFC 9457 body of an error response, checked to be one."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body
