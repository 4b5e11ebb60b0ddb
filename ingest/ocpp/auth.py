"""Who may connect (security profiles 1 and 2: HTTP Basic, username = identity) and what an id
tag may do. Passwords are stored salted and hashed with scrypt, never in clear."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found.hex(), digest)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) from an ``Authorization: Basic ...`` header."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


@dataclass(frozen=True)
class Verdict:
    """The handshake's answer: None to accept, else the HTTP status and why."""

    status: int | None
    reason: str = ""


def check_connection(
    charge_point_id: str,
    known: dict[str, Any] | None,
    authorization: str | None,
    *,
    allow_unknown: bool,
) -> Verdict:
    if known is None:
        return Verdict(None) if allow_unknown else Verdict(404, "unknown charge point")
    if known["password_hash"] is None:
        return Verdict(None)
    credentials = basic_credentials(authorization)
    if credentials is None:
        return Verdict(401, "password required")
    username, password = credentials
    if username != charge_point_id or not verify_password(password, known["password_hash"]):
        return Verdict(401, "wrong identity or password")
    return Verdict(None)


def id_tag_status(row: dict[str, Any] | None, now: datetime) -> str:
    """Accepted, Blocked, Expired or Invalid for an ``id_tag_with_parent`` row (None: unknown).
    A tag is no better than its parent: a blocked or expired group blocks its members."""
    if row is None:
        return "Invalid"
    own = _status(row["status"], row["expiry"], now)
    if own != "Accepted" or row["parent"] is None:
        return own
    return _status(row["parent_status"], row["parent_expiry"], now)


def _status(status: str | None, expiry: datetime | None, now: datetime) -> str:
    if status is None:
        return "Invalid"
    if status == "Accepted" and expiry is not None and expiry <= now:
        return "Expired"
    return status
