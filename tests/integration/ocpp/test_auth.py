"""Who may connect (unknown charge points, HTTP Basic passwords) and what id tags may do."""

from __future__ import annotations

import base64
import ssl
import subprocess
from dataclasses import replace

import pytest
import websockets
from ocpp.v16 import call
from ocpp_support import TEST_CONFIG, charge_point, execute, running, url_of
from websockets.exceptions import InvalidStatus

from ingest.ocpp.auth import hash_password


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def _status_of(url: str, **connect) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url, **connect):
            pass
    return refused.value.response.status_code


async def test_handshakes_are_refused_with_the_right_http_status(db_url, tmp_path):
    execute(
        db_url,
        "INSERT INTO wattline.charge_points (id, password_hash)"
        " VALUES ('CP-P', %s), ('CP-N', NULL)",
        [hash_password("s3cret-pass")],
    )
    config = replace(TEST_CONFIG, allow_unknown_chargers=False, spool_path=tmp_path / "s.jsonl")
    async with running(config, db_url) as central:
        ocpp16 = {"subprotocols": ["ocpp1.6"]}
        assert await _status_of(url_of(central, "CP-STRANGER"), **ocpp16) == 404
        assert await _status_of(url_of(central, "CP-P").replace("/ocpp/", "/x/"), **ocpp16) == 404
        assert await _status_of(url_of(central, "CP-N")) == 400  # no ocpp1.6 subprotocol
        assert await _status_of(url_of(central, "CP-P"), **ocpp16) == 401
        wrong = _basic("CP-P", "guess")
        assert await _status_of(url_of(central, "CP-P"), additional_headers=wrong, **ocpp16) == 401
        other = _basic("CP-N", "s3cret-pass")  # the username must be the identity
        assert await _status_of(url_of(central, "CP-P"), additional_headers=other, **ocpp16) == 401

        right = _basic("CP-P", "s3cret-pass")
        async with charge_point(central, "CP-P", additional_headers=right) as cp:
            await cp.call(call.Heartbeat())
        async with charge_point(central, "CP-N") as cp:  # known, no password set
            await cp.call(call.Heartbeat())


async def test_id_tags_are_checked_with_their_parents(central, db_url):
    execute(
        db_url,
        """INSERT INTO wattline.id_tags (id_tag, status, expiry, parent) VALUES
           ('FLEET-OK', 'Accepted', NULL, NULL), ('FLEET-BAD', 'Blocked', NULL, NULL),
           ('OK', 'Accepted', now() + interval '1 day', 'FLEET-OK'),
           ('IN-BAD-FLEET', 'Accepted', NULL, 'FLEET-BAD'),
           ('BLOCKED', 'Blocked', NULL, NULL),
           ('OLD', 'Accepted', now() - interval '1 day', NULL)""",
    )
    expected = {
        "OK": "Accepted",
        "IN-BAD-FLEET": "Blocked",
        "BLOCKED": "Blocked",
        "OLD": "Expired",
        "NOBODY": "Invalid",
    }
    async with charge_point(central, "CP-T") as cp:
        for tag, status in expected.items():
            answer = await cp.call(call.Authorize(tag))
            assert answer.id_tag_info["status"] == status, tag


async def test_a_rejected_charge_point_stays_rejected_at_boot(central, db_url):
    execute(
        db_url,
        "INSERT INTO wattline.charge_points (id, registration_status) VALUES ('CP-R', 'Rejected')",
    )
    async with charge_point(central, "CP-R") as cp:
        boot = await cp.call(call.BootNotification("Wallbox", "Acme"))
    assert boot.status == "Rejected"


async def test_security_profile_2_is_tls_with_the_same_password(db_url, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    execute(
        db_url,
        "INSERT INTO wattline.charge_points (id, password_hash) VALUES ('CP-TLS', %s)",
        [hash_password("tls-pass")],
    )
    config = replace(TEST_CONFIG, tls_cert=cert, tls_key=key, spool_path=tmp_path / "s.jsonl")
    client_tls = ssl.create_default_context(cafile=str(cert))
    async with running(config, db_url) as central:
        url = url_of(central, "CP-TLS").replace("ws://", "wss://")
        tls = {"subprotocols": ["ocpp1.6"], "ssl": client_tls}
        wrong = _basic("CP-TLS", "nope")
        assert await _status_of(url, additional_headers=wrong, **tls) == 401
        right = _basic("CP-TLS", "tls-pass")
        async with websockets.connect(url, additional_headers=right, **tls) as ws:
            await ws.send('[2,"1","Heartbeat",{}]')
            assert (await ws.recv()).startswith('[3,"1"')
