"""Who may call what: a bearer token with the route's scope (admin > operate > read), or for
the routes a `self` token may use, one that reads only its own account's rows."""

from __future__ import annotations

import asyncio

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import Problem
from api.tokens import ASYMMETRIC, Principal, TokenRefused

bearer = HTTPBearer(auto_error=False, description="a JWT: `wattline token issue`, or your IdP's")


async def principal(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    verifier = request.app.state.verifier
    token = credentials.credentials
    try:
        alg = jwt.get_unverified_header(token).get("alg")
    except jwt.InvalidTokenError:
        alg = None
    try:
        if alg in ASYMMETRIC:  # may fetch the key set: not on the event loop
            return await asyncio.to_thread(verifier.verify, token)
        return verifier.verify(token)
    except TokenRefused as exc:
        raise Problem(
            401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


def require(scope: str, *, self_ok: bool = False):
    """A dependency: the caller's principal, if it may use a route needing ``scope``."""

    async def check(who: Principal = Depends(principal)) -> Principal:
        if who.may(scope) or (self_ok and "self" in who.scopes):
            return who
        wanted = f"{scope!r} (or 'self')" if self_ok else repr(scope)
        has = " ".join(sorted(who.scopes)) or "none"
        raise Problem(
            403,
            f"this needs the {wanted} scope; the token has {has}",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope" scope="{scope}"'},
        )

    return check


def account_of(who: Principal, scope: str = "read") -> str | None:
    """The account a caller is limited to on a route needing ``scope``; None: no limit. A token
    that has the scope itself is not limited; one let in by `self` is."""
    return None if who.may(scope) else who.account


# The route parameters' defaults: `who: Principal = READ_OR_SELF`.
READ = Depends(require("read"))
READ_OR_SELF = Depends(require("read", self_ok=True))
OPERATE = Depends(require("operate"))
ADMIN = Depends(require("admin"))
