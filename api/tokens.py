"""Bearer tokens: JWTs with the scopes read, operate, admin and self.

HS256 tokens are signed with WATTLINE_API_SECRET (`wattline token issue` makes them). RS256 and
ES256 tokens come from an identity provider and are checked against its key set
(WATTLINE_API_JWKS_URL). The algorithm in a token's header only chooses between those two
ways; each way accepts its own algorithms and nothing else, so an HS256 token signed with a
public key, or a token with `alg: none`, is refused. Audience, issuer and expiry are required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

SCOPES = ("read", "operate", "admin", "self")
# What each scope may do besides its own name: admin all, operate reads too.
IMPLIES = {"admin": {"read", "operate", "admin"}, "operate": {"read", "operate"}}
ASYMMETRIC = ("RS256", "ES256")
LEEWAY_S = 30  # clocks of issuers and this server differ a little
_TTL = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class TokenRefused(Exception):
    """Why a token is not accepted (the API answers 401 with it)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    account: str | None  # for self tokens: whose meters, id tags and sessions

    def may(self, scope: str) -> bool:
        return any(scope == s or scope in IMPLIES.get(s, ()) for s in self.scopes)


def parse_ttl(text: str) -> timedelta:
    """'30d', '12h', '15m', '90s'."""
    match = _TTL.match(text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"--ttl {text!r}: a positive whole number and s, m, h or d, e.g. 30d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def issue(
    secret: str,
    subject: str,
    scopes: list[str],
    ttl: timedelta,
    *,
    audience: str,
    issuer: str,
    account: str | None = None,
    now: datetime | None = None,
) -> str:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes are {', '.join(SCOPES)}; not {', '.join(unknown) or 'none'}")
    if "self" in scopes and not account:
        raise ValueError("a self token belongs to an account: give --account")
    now = now or datetime.now(UTC)
    claims = {
        "sub": subject,
        "scope": " ".join(dict.fromkeys(scopes)),
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "exp": now + ttl,
    }
    if account:
        claims["account"] = account
    return jwt.encode(claims, secret, algorithm="HS256")


class Verifier:
    def __init__(self, secret: str | None, jwks_url: str | None, audience: str, issuer: str):
        self.secret = secret
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self.audience = audience
        self.issuer = issuer

    def verify(self, token: str) -> Principal:
        """The token's principal; TokenRefused says why not. May fetch the JWKS (blocking)."""
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            if alg == "HS256" and self.secret is not None:
                key = self.secret
            elif alg in ASYMMETRIC and self.jwks is not None:
                key = self.jwks.get_signing_key_from_jwt(token).key
            else:
                raise TokenRefused(f"tokens signed with {alg!r} are not accepted here")
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("the token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("the token's signature does not verify") from None
        except jwt.PyJWKClientError as exc:
            raise TokenRefused(f"no key for the token: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise TokenRefused(f"not a valid token: {exc}") from None
        return _principal(claims)


def _principal(claims: dict) -> Principal:
    raw = claims.get("scope", claims.get("scp", ""))
    scopes = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    known = frozenset(s for s in scopes if s in SCOPES)
    account = claims.get("account")
    if "self" in known and not isinstance(account, str):
        raise TokenRefused("a self token must name its account")
    if not isinstance(claims["sub"], str):
        raise TokenRefused("the token's subject must be a string")
    return Principal(claims["sub"], known, account if isinstance(account, str) else None)
