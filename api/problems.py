"""RFC 9457 problem documents for every error, including validation errors and errors of the
database, so no client ever sees a bare 500 or an HTML page."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import errors
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    def __init__(self, status: int, detail: str, *, headers: dict | None = None, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers
        self.extra = extra


def not_found(what: str, key: object) -> Problem:
    return Problem(404, f"no {what} {key}")


def response(status: int, detail: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _problem(request: Request, exc: Problem) -> JSONResponse:
    return response(exc.status, exc.detail, exc.headers, **exc.extra)


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    return response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    issues = [
        {"location": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
        for e in exc.errors()
    ]
    where = "; ".join(f"{i['location']}: {i['message']}" for i in issues)
    return response(422, f"the request is not valid: {where}", errors=issues)


async def _database(request: Request, exc: psycopg.Error) -> JSONResponse:
    # Input the checks above let through but the schema refuses is still the client's error.
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, errors.ForeignKeyViolation):
        return response(409, f"refers to something that does not exist: {first}")
    if isinstance(exc, errors.IntegrityError | errors.DataError):
        return response(422, f"the database refused the values: {first}")
    if isinstance(exc, errors.QueryCanceled):
        return response(503, "the query took too long; try a narrower window")
    if isinstance(exc, psycopg.OperationalError):
        return response(503, "the database is not reachable", {"Retry-After": "5"})
    log.exception("database error on %s %s", request.method, request.url.path)
    return response(500, "the database failed to answer this request")


async def _pool(request: Request, exc: PoolTimeout) -> JSONResponse:
    return response(503, "the database is busy or away", {"Retry-After": "5"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return response(500, "an unexpected error; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(psycopg.Error, _database)
    app.add_exception_handler(PoolTimeout, _pool)
    app.add_exception_handler(Exception, _unexpected)
