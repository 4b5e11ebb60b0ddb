"""The handshake's bounds (ingest.ocpp.gate) and what is kept out of logs (ingest.ocpp.redact)."""

from __future__ import annotations

import logging
import time

import pytest

from ingest.ocpp import admin, redact
from ingest.ocpp.auth import hash_password
from ingest.ocpp.gate import FailureLimiter, Passwords


def test_failures_spend_a_burst_then_come_back_at_the_rate(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    limiter = FailureLimiter(burst=3, per_minute=6)  # a token every 10 s
    for _ in range(3):
        assert not limiter.limited("10.0.0.1")
        limiter.failed("10.0.0.1")
    assert limiter.limited("10.0.0.1") and not limiter.limited("10.0.0.2")
    now[0] += 9.9
    assert limiter.limited("10.0.0.1")
    now[0] += 0.2  # 10.1 s: one token back, one more attempt
    assert not limiter.limited("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.limited("10.0.0.1")


def test_failure_buckets_are_bounded():
    limiter = FailureLimiter(burst=1, per_minute=1, max_keys=2)
    for key in ("a", "b", "c"):
        limiter.failed(key)
    assert not limiter.limited("a")  # forgotten, the oldest
    assert limiter.limited("b") and limiter.limited("c")


async def test_good_passwords_are_hashed_once_and_bad_ones_every_time():
    passwords = Passwords(workers=1, ttl_s=600, max_cached=2)
    stored = hash_password("right")
    try:
        assert (await passwords.check("CP-1", "right", stored)).ok
        assert (await passwords.check("CP-1", "right", stored)).ok
        assert passwords.hash_runs == 1
        # The cache is per identity and stored hash: the same password elsewhere is checked.
        assert (await passwords.check("CP-2", "right", stored)).ok
        assert not (await passwords.check("CP-1", "wrong", stored)).ok
        assert not (await passwords.check("CP-1", "wrong", stored)).ok
        assert passwords.hash_runs == 4
        assert not passwords.cached("CP-1", "right", hash_password("right"))  # password changed
    finally:
        passwords.close()


def test_log_lines_lose_authorization_keys_and_headers(caplog):
    redact.install()
    for name in ("ingest.ocpp.wire", "websockets.server", "ocpp"):
        caplog.set_level(logging.DEBUG, logger=name)
    frame = '[2,"7","ChangeConfiguration",{"key":"authorizationKey","value":"s3cr3t-k3y"}]'
    logging.getLogger("ingest.ocpp.wire").debug("%s: sending %s", "CP-1", frame)
    logging.getLogger("websockets.server").debug("< %s: %s", "Authorization", "Basic QUJDOnh5eg==")
    logging.getLogger("websockets.server").debug("> TEXT '%s' [99 bytes]", frame[:60])
    logging.getLogger("ocpp").info("%s: receive message %s", "CP-1", frame)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "s3cr3t" not in text and "QUJDOnh5eg" not in text
    assert len(caplog.records) == 4
    assert redact.text(frame) == (
        '[2,"7","ChangeConfiguration",{"key":"authorizationKey","value":"[redacted]"}]'
    )


def test_profile_2_needs_a_password_and_identities_are_checked_before_the_database():
    nowhere = "postgresql://127.0.0.1:1/nowhere"
    with pytest.raises(ValueError, match="profile 2"):
        admin.save_charge_point(nowhere, "CP-1", None, 2)
    with pytest.raises(ValueError, match="printable ASCII"):
        admin.save_charge_point(nowhere, "CP\n1", "pw", 1)


def test_once_a_key_has_failed_checks_under_way_count_as_spent():
    limiter = FailureLimiter(burst=3, per_minute=0.001)
    with limiter.attempt("nat"), limiter.attempt("nat"), limiter.attempt("nat"):
        assert not limiter.limited("nat")  # never failed: a fleet behind one address
    limiter.failed("nat")  # two tokens left
    with limiter.attempt("nat"):
        assert not limiter.limited("nat")
        with limiter.attempt("nat"):
            assert limiter.limited("nat")  # two guesses under way spend the two tokens
    assert not limiter.limited("nat")
