"""Health without a token, and every way a token can fail: over real HTTP against a running
`wattline api`, with HS256 tokens and with RS256/ES256 tokens checked against a key set that a
real local HTTP server serves."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from api_support import ROOT, SECRET, Api, hs256, problem, start, stop
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ADMIN_ROUTE = "/api/v1/admin/tariffs"
READ_ROUTE = "/api/v1/charge-points"


def test_health_and_readiness_need_no_token(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").json() == {"status": "ok"}
    assert 'wattline_api_responses_total{code="200"}' in api.get("/metrics").text
    schema = api.get("/openapi.json").json()
    assert all(
        p.startswith("/api/v1/") or p in ("/healthz", "/readyz", "/metrics")
        for p in schema["paths"]
    )
    assert api.get("/docs").status_code == 200


def test_without_its_database_it_is_alive_not_ready(empty_db_url):
    proc, base = start(empty_db_url)  # a database that does not exist
    try:
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        r = httpx.get(f"{base}/readyz", timeout=10)
        assert r.status_code == 503
        assert r.json()["problems"][0].startswith("database unreachable")
        r = httpx.get(
            f"{base}/api/v1/charge-points",
            headers={"Authorization": f"Bearer {hs256('read')}"},
            timeout=30,
        )
        assert problem(r, 503)["detail"] == "the database is busy or away"
    finally:
        stop(proc)


def _none_token() -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"sub": "x", "scope": "admin", "aud": "wattline", "iss": "wattline", "exp": 4102444800}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    ("token", "why"),
    [
        (None, "a bearer token is required"),
        (hs256("admin", ttl=timedelta(minutes=-5)), "expired"),
        (hs256("admin", secret="another-secret-" + "z" * 32), "signature"),
        (hs256("admin", audience="someone-else"), "audience"),
        (hs256("admin", issuer="https://evil.example"), "issuer"),
        (_none_token(), "'none'"),
        ("not.a.token", "not a valid token"),
        (hs256("self"), "must name its account"),
    ],
    ids=[
        "missing",
        "expired",
        "signature",
        "audience",
        "issuer",
        "alg-none",
        "garbage",
        "self-no-account",
    ],
)
def test_a_bad_token_is_401(api, token, why):
    body = problem(api.get(READ_ROUTE, token), 401)
    assert why in body["detail"]


def test_a_missing_scope_is_403_and_the_scopes_nest(api):
    problem(api.get(ADMIN_ROUTE, hs256("read")), 403)
    problem(api.get(ADMIN_ROUTE, hs256("operate")), 403)
    problem(api.get(READ_ROUTE, hs256("self", account="nobody")), 403)  # fleet-wide: no
    assert api.get(ADMIN_ROUTE, hs256("admin")).status_code == 200
    assert api.get(READ_ROUTE, hs256("operate")).status_code == 200  # operate reads too
    r = api.call(
        "POST",
        "/api/v1/charge-points/CP-X/commands",
        hs256("read"),
        json={"action": "Reset", "payload": {"type": "Soft"}},
    )
    problem(r, 403)


def _cli(*argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wattline.cli", *argv],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"} | env,
        capture_output=True,
        text=True,
    )


def test_wattline_token_issue_makes_a_token_the_api_accepts(api, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")  # as a container secret: with a newline
    out = _cli(
        "token",
        "issue",
        "--subject",
        "billing",
        "--scope",
        "read,operate",
        "--ttl",
        "30d",
        WATTLINE_API_SECRET_FILE=str(secret_file),
    )
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="wattline")
    assert (claims["sub"], claims["scope"]) == ("billing", "read operate")
    assert claims["exp"] - claims["iat"] == 30 * 86400
    assert api.get(READ_ROUTE, token).status_code == 200
    problem(api.get(ADMIN_ROUTE, token), 403)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scope", "root"], "scopes are read, operate, admin, self; not root"),
        (["--scope", "self"], "a self token belongs to an account"),
        (["--scope", "read", "--ttl", "forever"], "--ttl 'forever'"),
    ],
)
def test_token_issue_refuses_bad_input_in_one_line(argv, message):
    out = _cli("token", "issue", "--subject", "x", *argv, WATTLINE_API_SECRET=SECRET)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_token_issue_needs_a_long_enough_secret():
    out = _cli("token", "issue", "--subject", "x", "--scope", "read", WATTLINE_API_SECRET="short")
    assert out.returncode != 0 and "at least 32 bytes" in out.stderr
    assert SECRET[:8] not in out.stderr and "short" not in out.stderr  # never echoed


# --- an identity provider's tokens, through its key set ---------------------------------------

ISSUER = "https://idp.example.test/realms/wattline"
AUDIENCE = "wattline-api"


class _KeySet(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self):  # noqa: N802 (the handler's name)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def idp():
    """Two signing keys (RSA and EC P-256) behind a real HTTP server serving their JWKS."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = []
    for kid, key, algorithm, alg in (
        ("rsa-1", rsa_key, RSAAlgorithm, "RS256"),
        ("ec-1", ec_key, ECAlgorithm, "ES256"),
    ):
        jwk = json.loads(algorithm.to_jwk(key.public_key()))
        keys.append(jwk | {"kid": kid, "alg": alg, "use": "sig"})
    handler = type("KeySet", (_KeySet,), {"body": json.dumps({"keys": keys}).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/certs", "rsa": rsa_key, "ec": ec_key}
    server.shutdown()


@pytest.fixture(scope="module")
def idp_api(api_db, idp):
    _, url = api_db
    proc, base = start(
        url,
        WATTLINE_API_SECRET="",
        WATTLINE_API_JWKS_URL=idp["url"],
        WATTLINE_API_AUDIENCE=AUDIENCE,
        WATTLINE_API_ISSUER=ISSUER,
    )
    yield Api(base, url, "idp")
    stop(proc)


def _idp_token(key, alg: str, kid: str, **claims) -> str:
    body = {
        "sub": "alice",
        "scope": "read",
        "aud": AUDIENCE,
        "iss": ISSUER,
        "exp": 4102444800,
    } | claims
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def test_rs256_and_es256_tokens_from_the_key_set(idp_api, idp):
    for key, alg, kid in ((idp["rsa"], "RS256", "rsa-1"), (idp["ec"], "ES256", "ec-1")):
        assert idp_api.get(READ_ROUTE, _idp_token(key, alg, kid)).status_code == 200, alg
        problem(idp_api.get(ADMIN_ROUTE, _idp_token(key, alg, kid)), 403)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(public_pem: bytes) -> str:
    """HS256 "signed" with the provider's public key: the classic algorithm confusion (PyJWT
    refuses to make one, so it is made by hand)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    claims = {"sub": "x", "scope": "admin", "aud": AUDIENCE, "iss": ISSUER, "exp": 4102444800}
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.mark.parametrize(
    "case", ["signature", "audience", "issuer", "expired", "unknown key", "HS256", "confusion"]
)
def test_key_set_tokens_that_must_fail(idp_api, idp, case):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        idp["rsa"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    token = {
        "signature": lambda: _idp_token(stranger, "RS256", "rsa-1"),
        "audience": lambda: _idp_token(idp["rsa"], "RS256", "rsa-1", aud="wattline"),
        "issuer": lambda: _idp_token(idp["rsa"], "RS256", "rsa-1", iss="https://evil.example"),
        "expired": lambda: _idp_token(idp["rsa"], "RS256", "rsa-1", exp=1_000_000_000),
        "unknown key": lambda: _idp_token(idp["rsa"], "RS256", "unknown-kid"),
        # This server has no HS256 secret: an HS256 token is refused whatever its claims.
        "HS256": lambda: hs256("admin", audience=AUDIENCE, issuer=ISSUER),
        "confusion": lambda: _hs256_with_public_key(public_pem),
    }[case]()
    problem(idp_api.get(READ_ROUTE, token), 401)
