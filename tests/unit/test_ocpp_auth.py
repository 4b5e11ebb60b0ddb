import base64
from datetime import UTC, datetime, timedelta

import pytest

from ingest.ocpp.auth import (
    basic_credentials,
    check_connection,
    hash_password,
    id_tag_status,
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


def test_the_handshake_verdicts():
    known = {"password_hash": hash_password("pw"), "registration_status": "Accepted"}
    assert check_connection("CP-1", None, None, allow_unknown=True).status is None
    assert check_connection("CP-1", None, None, allow_unknown=False).status == 404
    assert check_connection("CP-1", known, None, allow_unknown=True).status == 401
    assert check_connection("CP-1", known, _basic("CP-1:no"), allow_unknown=True).status == 401
    assert check_connection("CP-1", known, _basic("CP-2:pw"), allow_unknown=True).status == 401
    assert check_connection("CP-1", known, _basic("CP-1:pw"), allow_unknown=False).status is None


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
