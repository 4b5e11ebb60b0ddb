"""Issue 13: no charger gets in where it does not belong. Each test makes real WebSocket
handshakes (with and without credentials and certificates, over TLS where it matters) and checks
both the refusal and that the legitimate charge point keeps working."""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from ocpp_support import (
    TEST_CONFIG,
    basic_auth,
    charge_point,
    eventually,
    execute,
    query,
    running,
    url_of,
)
from websockets.exceptions import InvalidStatus

from ingest.ocpp import admin
from ingest.ocpp.config import OcppConfig

OCPP = {"subprotocols": ["ocpp1.6"]}


async def _status_of(url: str, **connect) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url, **{**OCPP, **connect}):
            pass
    return refused.value.response.status_code


async def _raw_status(port: int, path: str) -> int:
    """The HTTP status of a handshake for ``path`` sent byte for byte (no client quoting)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    return int(head.split()[1])


def _events(db_url: str) -> list[tuple]:
    rows = query(
        db_url,
        "SELECT identity, remote_address, event FROM wattline.security_events ORDER BY time",
    )
    return [(r["identity"], r["remote_address"], r["event"]) for r in rows]


async def _beats(cp: ChargePoint) -> bool:
    """The charge point still gets replies on its connection."""
    answer = await asyncio.wait_for(cp.call(call.Heartbeat()), 5)
    return bool(answer.current_time)


def _config(tmp_path: Path, **changes) -> OcppConfig:
    changes = {"allow_unknown_chargers": False, "spool_path": tmp_path / "spool.jsonl", **changes}
    return replace(TEST_CONFIG, **changes)


# -- 1. identities -------------------------------------------------------------------------


async def test_a_stranger_cannot_take_over_a_connected_charge_point(db_url, tmp_path):
    admin.save_charge_point(db_url, "CP-OPEN", None)  # profile 1 without a password
    admin.save_charge_point(db_url, "CP-PW", "right-pass")
    async with running(_config(tmp_path), db_url) as central:
        async with (
            charge_point(central, "CP-OPEN") as real_open,
            charge_point(
                central, "CP-PW", additional_headers=basic_auth("CP-PW", "right-pass")
            ) as real_pw,
        ):
            # Nothing to prove for CP-OPEN, so nothing may replace its connection.
            assert await _status_of(url_of(central, "CP-OPEN")) == 409
            assert await _status_of(url_of(central, "CP-PW")) == 401
            wrong = basic_auth("CP-PW", "guess")
            assert await _status_of(url_of(central, "CP-PW"), additional_headers=wrong) == 401
            assert await _beats(real_open) and await _beats(real_pw)
            assert central.connected["CP-OPEN"].id == "CP-OPEN"
            # A command queued for CP-OPEN still reaches the real charge point.
            admin.request_command(db_url, "CP-OPEN", "TriggerMessage", _heartbeat(), "test")
            (done,) = await eventually(lambda: _answered(db_url))
            assert done["status"] == "failed"  # the library's client has no TriggerMessage
            assert "NotImplemented" in done["error"]  # ... and said so: it got the command
        await central.security.flush()
    assert _events(db_url) == [
        ("CP-OPEN", "127.0.0.1", "takeover_refused"),
        ("CP-PW", "127.0.0.1", "password_missing"),
        ("CP-PW", "127.0.0.1", "bad_password"),
    ]


def _heartbeat() -> dict:
    return {"requestedMessage": "Heartbeat"}


def _answered(db_url: str) -> list[dict]:
    return query(
        db_url,
        "SELECT status, error FROM wattline.commands WHERE status NOT IN ('requested', 'sent')",
    )


async def test_one_live_connection_per_identity_across_processes(db_url, tmp_path):
    admin.save_charge_point(db_url, "CP-TWO", "two-pass")
    login = {"additional_headers": basic_auth("CP-TWO", "two-pass")}
    async with (
        running(_config(tmp_path / "a"), db_url) as first,
        running(_config(tmp_path / "b"), db_url) as second,
    ):
        async with charge_point(first, "CP-TWO", **login) as cp:
            # The right password, but the charge point is live on the other process.
            assert await _status_of(url_of(second, "CP-TWO"), **login) == 409
            assert await _beats(cp)
            # The first process dies: its database session, and the lock, go with it.
            pid = first.presence._conn.info.backend_pid
            execute(db_url, "SELECT pg_terminate_backend(%s)", [pid])
            async with charge_point(second, "CP-TWO", **login) as moved:
                assert await _beats(moved)
        # Closed there: the second process lets go, and the first may hold it again.
        await eventually(lambda: "CP-TWO" not in second.presence.held)
        await eventually(lambda: second.presence._asking.done())  # the unlock went out
        async with charge_point(first, "CP-TWO", **login) as back:
            assert await _beats(back)
        await second.security.flush()
    assert ("CP-TWO", "127.0.0.1", "takeover_refused") in _events(db_url)


# -- 2. secure defaults --------------------------------------------------------------------


async def test_unknown_charge_points_are_refused_by_default_and_recorded(db_url, tmp_path):
    from ingest.mqtt.config import MqttConfig

    assert not OcppConfig.from_env({}).allow_unknown_chargers
    assert not MqttConfig.from_env({}).allow_unknown_meters
    admin.save_charge_point(db_url, "CP-KNOWN", None)
    config = replace(OcppConfig.from_env({}), host="127.0.0.1", port=0, spool_path=tmp_path / "s")
    async with running(config, db_url) as central:
        async with charge_point(central, "CP-KNOWN") as known:
            assert await _status_of(url_of(central, "CP-STRANGER")) == 404
            assert await _beats(known)
        await central.security.flush()
    assert _events(db_url) == [("CP-STRANGER", "127.0.0.1", "unknown_identity")]
    with _as_reader(db_url) as reader:  # the reader role sees security events
        (row,) = reader.execute("SELECT identity, event FROM security_events").fetchall()
    assert row == ("CP-STRANGER", "unknown_identity")


def _as_reader(db_url: str) -> psycopg.Connection:
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    params["user"] = "wattline_reader"
    return psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True)


# -- 3. the database away never skips authentication --------------------------------------


async def test_with_the_database_cut_passwords_are_still_required(db_url, tmp_path):
    admin.save_charge_point(db_url, "CP-SEEN", "seen-pass")
    admin.save_charge_point(db_url, "CP-UNSEEN", "unseen-pass")
    # allow_unknown on: it must not matter while the database cannot say who is known.
    async with running(_config(tmp_path, allow_unknown_chargers=True), db_url) as central:
        login = {"additional_headers": basic_auth("CP-SEEN", "seen-pass")}
        async with charge_point(central, "CP-SEEN", **login):
            pass  # seen: its credentials are cached
        central.lookup.dsn = "postgresql://127.0.0.1:1/nowhere"  # nobody listens there
        await central.lookup.close()
        assert await _status_of(url_of(central, "CP-SEEN")) == 401
        assert await _status_of(url_of(central, "CP-UNSEEN")) == 503
        unseen = basic_auth("CP-UNSEEN", "unseen-pass")
        assert await _status_of(url_of(central, "CP-UNSEEN"), additional_headers=unseen) == 503
        assert await _status_of(url_of(central, "CP-NEVER-HEARD-OF")) == 503
        async with charge_point(central, "CP-SEEN", **login) as cp:
            assert await _beats(cp)  # answered from the spool while the database is away


# -- 4. TLS: profile 2 needs TLS and a password, profile 3 a client certificate -------------


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _make_pki(d: Path) -> dict[str, Path]:
    """A server certificate for 127.0.0.1, a CA, and client certificates it signed."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(d / "server.key"), "-out", str(d / "server.pem"))  # fmt: skip
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", *ec, "-days", "1", "-subj", f"/CN={ca}",
                 "-keyout", str(d / f"{ca}.key"), "-out", str(d / f"{ca}.pem"))  # fmt: skip
    for name, ca in [("CP-CERT", "ca"), ("CP-OTHER", "ca"), ("CP-CERT-FORGED", "other-ca")]:
        cn = name.removesuffix("-FORGED")
        _openssl("req", *ec, "-subj", f"/CN={cn}", "-keyout", str(d / f"{name}.key"),
                 "-out", str(d / f"{name}.csr"))  # fmt: skip
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / f"{ca}.pem"),
                 "-CAkey", str(d / f"{ca}.key"), "-CAcreateserial", "-days", "1",
                 "-out", str(d / f"{name}.pem"))  # fmt: skip
    return {p.stem: p for p in d.glob("*.pem")}


def _client_tls(pki: dict[str, Path], cert: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki["server"]))
    if cert is not None:
        context.load_cert_chain(pki[cert], pki[cert].with_suffix(".key"))
    return context


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_profiles_2_and_3_need_tls_and_profile_3_its_own_certificate(
    db_url, tmp_path, version
):
    """The same for both OCPP versions: the checks are the handshake's, before any frame."""
    proto = {"subprotocols": [f"ocpp{version}"]}
    pki = _make_pki(tmp_path)
    admin.save_charge_point(db_url, "CP-CERT", None, 3)
    admin.save_charge_point(db_url, "CP-TLS", "tls-pass", 2)
    admin.save_charge_point(db_url, "CP-OTHER", None)
    tls = {"tls_cert": pki["server"], "tls_key": pki["server"].with_suffix(".key")}
    config = _config(tmp_path, **tls, tls_ca=pki["ca"])
    async with running(config, db_url) as central:
        url = url_of(central, "CP-CERT").replace("ws://", "wss://")
        own = {"ssl": _client_tls(pki, "CP-CERT")}
        async with websockets.connect(url, **proto, **own) as real:
            assert real.subprotocol == f"ocpp{version}"
            assert await _status_of(url, ssl=_client_tls(pki), **proto) == 403  # no certificate
            # A good certificate, but another charge point's.
            assert await _status_of(url, ssl=_client_tls(pki, "CP-OTHER"), **proto) == 403
            # The right name, signed by a CA we do not trust: no TLS session at all.
            with pytest.raises((ssl.SSLError, OSError, websockets.InvalidHandshake)):
                async with websockets.connect(url, **proto, ssl=_client_tls(pki, "CP-CERT-FORGED")):
                    pass
            await real.send('[2,"1","Heartbeat",{}]')
            assert (await real.recv()).startswith('[3,"1"')
        tls_url = url_of(central, "CP-TLS").replace("ws://", "wss://")
        login = basic_auth("CP-TLS", "tls-pass")
        async with websockets.connect(
            tls_url, **proto, ssl=_client_tls(pki), additional_headers=login
        ) as ws:
            assert ws.subprotocol == f"ocpp{version}"
            await ws.send('[2,"2","Heartbeat",{}]')
            assert (await ws.recv()).startswith('[3,"2"')
        await central.security.flush()
    events = {e for _, _, e in _events(db_url)}
    assert events == {"certificate_missing", "certificate_mismatch"}

    # Without TLS (a plain ws:// server) profile 2 and 3 charge points are refused outright.
    async with running(_config(tmp_path / "plain"), db_url) as plain:
        login = basic_auth("CP-TLS", "tls-pass")
        assert await _status_of(url_of(plain, "CP-TLS"), additional_headers=login, **proto) == 403
        assert await _status_of(url_of(plain, "CP-CERT"), **proto) == 403
        async with charge_point(plain, "CP-OTHER") as other:  # profile 1 still connects
            assert await _beats(other)


# -- 5. what a handshake costs ------------------------------------------------------------


async def test_handshakes_are_cached_rate_limited_and_capped(db_url, tmp_path):
    admin.save_charge_point(db_url, "CP-FLEET", "fleet-pass")
    admin.save_charge_point(db_url, "CP-NEW", "new-pass")
    # A hash from before argon2id: scrypt, n=2^14, r=8, p=1, of "old-pass".
    execute(
        db_url,
        "INSERT INTO wattline.charge_points (id, password_hash) VALUES ('CP-OLD', %s)",
        [_scrypt("old-pass")],
    )
    config = _config(tmp_path, failures_burst=3, failures_per_minute=1, max_connections=3)
    async with running(config, db_url) as central:
        login = {"additional_headers": basic_auth("CP-FLEET", "fleet-pass")}
        for _ in range(3):  # reconnects: one hash run, the rest from the cache
            async with charge_point(central, "CP-FLEET", **login) as cp:
                assert await _beats(cp)
        assert central.passwords.hash_runs == 1

        # Three wrong passwords for CP-FLEET, and the next attempt is refused unhashed (429)...
        wrong = {"additional_headers": basic_auth("CP-FLEET", "guess")}
        assert [await _status_of(url_of(central, "CP-FLEET"), **wrong) for _ in range(4)] == [
            401, 401, 401, 429,
        ]  # fmt: skip
        assert central.passwords.hash_runs == 4
        # ... the remote address is over its budget too, yet nothing changes for a charge point
        # whose password was checked before: the cache answers without hashing.
        central.failures_by_address = type(central.failures_by_address)(3, 1)
        async with charge_point(central, "CP-FLEET", **login) as cp:
            assert await _beats(cp)
        assert central.passwords.hash_runs == 4

        # The scrypt hash verifies and is replaced by argon2id.
        old = {"additional_headers": basic_auth("CP-OLD", "old-pass")}
        async with charge_point(central, "CP-OLD", **old):
            pass
        stored = await eventually(lambda: _hash_of(db_url, "CP-OLD").startswith("$argon2id$"))
        assert stored
        async with charge_point(central, "CP-OLD", **old) as cp:
            assert await _beats(cp)

        # At most three connections at once.
        new = {"additional_headers": basic_auth("CP-NEW", "new-pass")}
        async with (
            charge_point(central, "CP-FLEET", **login),
            charge_point(central, "CP-OLD", **old),
        ):
            async with charge_point(central, "CP-NEW", **new) as third:
                admin.save_charge_point(db_url, "CP-FOURTH", None)
                assert await _status_of(url_of(central, "CP-FOURTH")) == 503
                assert await _beats(third)


async def test_a_lookup_stuck_on_a_lock_does_not_hold_up_handshakes(db_url, tmp_path):
    admin.save_charge_point(db_url, "CP-LOCKED", "locked-pass")
    admin.save_charge_point(db_url, "CP-FREE", "free-pass")
    async with running(_config(tmp_path), db_url) as central:
        with psycopg.connect(db_url) as holder:  # a transaction that keeps a row locked
            holder.execute("SELECT 1 FROM wattline.charge_points WHERE id = 'CP-LOCKED' FOR UPDATE")
            stuck = asyncio.create_task(
                central.lookup.one(
                    ("set_password_hash", {"charge_point_id": "CP-LOCKED", "password_hash": "x"})
                )
            )
            await asyncio.sleep(0.2)
            login = {"additional_headers": basic_auth("CP-FREE", "free-pass")}
            async with charge_point(central, "CP-FREE", **login) as cp:
                assert await _beats(cp)
            assert not stuck.done()  # still waiting for the lock all along
        await asyncio.wait_for(stuck, 5)  # the holder is gone: it goes through


def _scrypt(password: str) -> str:
    import hashlib

    salt = bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def _hash_of(db_url: str, identity: str) -> str:
    (row,) = query(
        db_url, "SELECT password_hash FROM wattline.charge_points WHERE id = %s", [identity]
    )
    return row["password_hash"]


# -- 6. secrets ---------------------------------------------------------------------------

NEW_KEY = "n3w-k3y-0f-CP-KEY-7781"
TAG = "SECRET-TAG-42"


class KeyTaker(ChargePoint):
    @on(Action.change_configuration)
    async def on_change_configuration(
        self, key: str, value: str
    ) -> call_result.ChangeConfiguration:
        self.new_key = value
        return call_result.ChangeConfiguration(status="Accepted")


async def test_an_authorization_key_is_never_stored_logged_or_readable(db_url, tmp_path, caplog):
    # The most verbose there is: websockets logs every frame and header at debug.
    for name in (None, "websockets.server", "ocpp", "ingest.ocpp.wire"):
        caplog.set_level(logging.DEBUG, logger=name)
    admin.save_charge_point(db_url, "CP-KEY", "old-key-pass")
    admin.save_id_tag(db_url, TAG, "Accepted", None, None, None)
    old = {"additional_headers": basic_auth("CP-KEY", "old-key-pass")}
    async with running(_config(tmp_path), db_url) as central:
        async with charge_point(central, "CP-KEY", KeyTaker, **old) as cp:
            await cp.call(call.Authorize(TAG))
            payload = {"key": "AuthorizationKey", "value": NEW_KEY}
            admin.request_command(db_url, "CP-KEY", "ChangeConfiguration", payload, "test")
            await eventually(lambda: getattr(cp, "new_key", None))
            assert cp.new_key == NEW_KEY  # the charge point got the clear key
            (done,) = await eventually(lambda: _answered(db_url))
            assert done["status"] == "answered"
        # Its next connection uses the new key; the old one no longer works.
        assert await _status_of(url_of(central, "CP-KEY"), **old) == 401
        new = {"additional_headers": basic_auth("CP-KEY", NEW_KEY)}
        async with charge_point(central, "CP-KEY", **new) as cp:
            assert await _beats(cp)
        await asyncio.sleep(0.3)  # the frame log's last flush

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "[redacted]" in logged  # the frames were logged, without the key
    assert NEW_KEY not in logged
    assert basic_auth("CP-KEY", NEW_KEY)["Authorization"].split()[1] not in logged
    assert basic_auth("CP-KEY", "old-key-pass")["Authorization"].split()[1] not in logged

    everywhere = query(
        db_url,
        "SELECT (SELECT count(*) FROM wattline.commands WHERE payload::text LIKE %(k)s)"
        " + (SELECT count(*) FROM wattline.ocpp_messages"
        "    WHERE coalesce(payload::text, raw) LIKE %(k)s) AS n",
        {"k": f"%{NEW_KEY}%"},
    )
    assert everywhere == [{"n": 0}]
    assert query(db_url, "SELECT count(*) AS n FROM wattline_admin.command_secrets") == [{"n": 0}]

    # The reader: every relation it may read, every row, as text.
    with _as_reader(db_url) as reader:
        readable = [
            r[0]
            for r in reader.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'wattline' AND c.relkind IN ('r', 'v', 'm', 'p')"
                " AND has_table_privilege(c.oid, 'SELECT')"
            )
        ]
        assert {"ocpp_log", "command_log", "security_events"} <= set(readable)
        assert not {"ocpp_messages", "commands", "id_tags"} & set(readable)
        for relation in readable:
            rows = reader.execute(f"SELECT t::text FROM wattline.{relation} t").fetchall()
            assert not [r for r in rows if NEW_KEY in r[0]], relation
        log = reader.execute("SELECT payload::text FROM ocpp_log WHERE action = 'Authorize'")
        assert [TAG in r[0] for r in log.fetchall()] == [False, False]  # the CALL and its answer
    # The central system's own table keeps the id tag it needs.
    kept = query(db_url, "SELECT payload->>'idTag' AS tag FROM wattline.ocpp_messages"
                 " WHERE action = 'Authorize' AND direction = 'in'")  # fmt: skip
    assert kept == [{"tag": TAG}]


# -- 7. identity syntax -------------------------------------------------------------------


async def test_malformed_identities_get_400_and_no_traceback(db_url, tmp_path, caplog):
    admin.save_charge_point(db_url, "CP-FINE", None)
    async with running(_config(tmp_path), db_url) as central:
        async with charge_point(central, "CP-FINE") as fine:
            for path in [
                "/ocpp/CP%00",
                "/ocpp/CP%0A1",
                "/ocpp/CP%E2%80%AE1",  # U+202E
                "/ocpp/CP%7F",
                "/ocpp/a%2Fb",
                "/ocpp/" + "x" * 49,
            ]:
                assert await _raw_status(central.port, path) == 400, path
            assert await _beats(fine)
        await central.security.flush()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    shown = [identity for identity, _, event in _events(db_url) if event == "bad_identity"]
    assert shown[:3] == ["CP%00", "CP%0A1", "CP%E2%80%AE1"]  # as sent, escaped, never decoded
