"""Who may connect and what an id tag may do.

Security profiles of the OCPP security whitepaper: 1 = HTTP Basic (username = identity), 2 =
HTTP Basic over TLS, 3 = TLS with a client certificate whose CN is the identity. Passwords are
stored as argon2id hashes; scrypt hashes from before still verify, and are replaced by argon2id
at the next successful login (``needs_rehash``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): ~60 ms a check on one core here, so the
# handshake pool (server.py) bounds what a flood of guesses costs.
_ARGON2 = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
MAX_IDENTITY = 48


def hash_password(password: str) -> str:
    return _ARGON2.hash(password)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _ARGON2.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """A hash from an older scheme or weaker parameters, to replace after a good login."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _ARGON2.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
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


def identity_from(segment: str) -> str | None:
    """The charge point identity in a percent-encoded path segment, or None when it is not one:
    printable ASCII (space to ``~``), no ``/``, 1 to 48 characters, whatever the encoding. So no
    NUL, control characters, bidi marks or other non-ASCII can reach a query or a log line."""
    try:
        decoded = unquote_to_bytes(segment).decode("ascii")
    except UnicodeDecodeError:
        return None
    if not 1 <= len(decoded) <= MAX_IDENTITY or "/" in decoded:
        return None
    if not all(" " <= ch <= "~" for ch in decoded):
        return None
    return decoded


def shown(identity: str) -> str:
    """An identity as presented, safe for a log line or a row: escaped, and cut short."""
    return identity[:200].encode("unicode_escape").decode("ascii")


@dataclass(frozen=True)
class Verdict:
    """The handshake's answer: ``status`` None to accept, else the HTTP status and why.
    ``event`` names the security event a refusal records; ``password`` is what is left to check
    against the stored hash (None: nothing); ``credentialed``: the peer proved who it is."""

    status: int | None
    reason: str = ""
    event: str | None = None
    password: str | None = None
    credentialed: bool = False


def check_connection(
    charge_point_id: str,
    known: dict[str, Any] | None,
    authorization: str | None,
    *,
    allow_unknown: bool,
    tls: bool = False,
    peer_cn: str | None = None,
    trust_proxy_tls: bool = False,
) -> Verdict:
    """Everything about a handshake but the password hash itself (``Verdict.password``)."""
    if known is None:
        if allow_unknown:
            return Verdict(None)
        return Verdict(404, "unknown charge point", "unknown_identity")
    profile = known.get("security_profile") or 1
    if profile >= 2 and not tls and not (profile == 2 and trust_proxy_tls):
        return Verdict(403, f"security profile {profile} needs wss://", "plain_connection")
    if profile == 3:
        if not peer_cn:
            return Verdict(403, "client certificate required", "certificate_missing")
        if peer_cn != charge_point_id:
            reason = "the certificate is not this charge point's"
            return Verdict(403, reason, "certificate_mismatch")
        return Verdict(None, credentialed=True)
    if known["password_hash"] is None:
        if profile == 2:  # a profile without its credential: refuse rather than open up
            return Verdict(401, "no password is set for this charge point", "password_not_set")
        return Verdict(None)
    credentials = basic_credentials(authorization)
    if credentials is None:
        return Verdict(401, "password required", "password_missing")
    username, password = credentials
    if username != charge_point_id:
        return Verdict(401, "wrong identity or password", "bad_password")
    return Verdict(None, password=password, credentialed=True)


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
