import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from ingest.ocpp.auth import (
    Verdict,
    basic_credentials,
    check_connection,
    hash_password,
    id_tag_status,
    identity_from,
    needs_rehash,
    verify_password,
)

NOW = datetime(2024, 1, 27, 12, tzinfo=UTC)


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_passwords_are_salted_and_verified():
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and "s3cret" not in first
    assert verify_password("s3cret", first) and verify_password("s3cret", second)
    assert not verify_password("S3cret", first)
    assert not verify_password("s3cret", "plain-text-in-the-column")


def test_basic_credentials_keep_colons_in_the_password():
    assert basic_credentials(_basic("CP-1:a:b")) == ("CP-1", "a:b")
    assert basic_credentials("Basic !!!") is None
    assert basic_credentials(_basic("no-colon")) is None
    assert basic_credentials(None) is None


def test_old_scrypt_hashes_still_verify_and_are_marked_for_rehashing():
    # Made by the scrypt hash_password of before: scrypt$n$r$p$salt$digest.
    salt = bytes(range(16))
    digest = hashlib.scrypt(b"old-pass", salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"
    assert verify_password("old-pass", old) and not verify_password("old-Pass", old)
    assert needs_rehash(old)
    new = hash_password("old-pass")
    assert new.startswith("$argon2id$") and not needs_rehash(new)


def test_the_handshake_verdicts():
    def verdict(known, header=None, **kw):
        return check_connection("CP-1", known, header, allow_unknown=kw.pop("unknown", False), **kw)

    p1 = {"password_hash": "H", "registration_status": "Accepted", "security_profile": 1}
    p2, p3 = {**p1, "security_profile": 2}, {**p1, "security_profile": 3, "password_hash": None}
    assert verdict(None, unknown=True) == Verdict(None)
    assert verdict(None).status == 404
    assert verdict(p1).status == 401
    assert verdict(p1, _basic("CP-2:pw")).status == 401  # the username must be the identity
    # Left to the hash: the password, and only then does the peer count as credentialed.
    assert verdict(p1, _basic("CP-1:pw")) == Verdict(None, password="pw", credentialed=True)
    assert verdict({**p1, "password_hash": None}) == Verdict(None)  # no credential, no proof
    assert verdict(p2, _basic("CP-1:pw")).status == 403  # profile 2 on plain ws://
    assert verdict(p2, _basic("CP-1:pw"), trust_proxy_tls=True).password == "pw"
    assert verdict(p2, _basic("CP-1:pw"), tls=True).password == "pw"
    assert verdict(p3, tls=True).status == 403  # no certificate
    assert verdict(p3, tls=True, peer_cn="CP-2").status == 403
    assert verdict(p3, tls=True, peer_cn="CP-1") == Verdict(None, credentialed=True)
    assert verdict(p3, peer_cn="CP-1", trust_proxy_tls=True).status == 403  # never via a proxy


@pytest.mark.parametrize(
    ("segment", "identity"),
    [
        ("CP-1", "CP-1"),
        ("CP%201", "CP 1"),
        ("x" * 48, "x" * 48),
        ("x" * 49, None),
        ("", None),
        ("a%2Fb", None),
        ("CP%00", None),
        ("CP%0A1", None),
        ("CP%7F", None),
        ("CP%E2%80%AE1", None),  # U+202E, right-to-left override
        ("CP%C3%A9", None),
        ("CP%ZZ", "CP%ZZ"),  # not an escape: the characters themselves, all printable
    ],
)
def test_identities_are_printable_ascii_without_slashes(segment, identity):
    assert identity_from(segment) == identity


def _tag(status="Accepted", expiry=None, parent=None, parent_status=None, parent_expiry=None):
    return {
        "status": status,
        "expiry": expiry,
        "parent": parent,
        "parent_status": parent_status,
        "parent_expiry": parent_expiry,
    }


@pytest.mark.parametrize(
    ("row", "status"),
    [
        (None, "Invalid"),
        (_tag(), "Accepted"),
        (_tag("Blocked"), "Blocked"),
        (_tag(expiry=NOW - timedelta(seconds=1)), "Expired"),
        (_tag(expiry=NOW + timedelta(days=1)), "Accepted"),
        (_tag(parent="G", parent_status="Accepted"), "Accepted"),
        (_tag(parent="G", parent_status="Blocked"), "Blocked"),
        (_tag(parent="G", parent_status="Accepted", parent_expiry=NOW), "Expired"),
        (_tag("Invalid", parent="G", parent_status="Accepted"), "Invalid"),
    ],
)
def test_id_tag_status_takes_expiry_and_parent_into_account(row, status):
    assert id_tag_status(row, NOW) == status
