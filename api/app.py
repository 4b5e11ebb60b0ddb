"""The FastAPI application: routes under /api/v1, /docs and /openapi.json, problem documents
for every error, one database (async pool) per process."""

from __future__ import annotations

from collections import Counter
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from api import problems
from api.config import ApiConfig
from api.database import Database
from api.routes import (
    admin,
    charge_points,
    commands,
    health,
    meters,
    sessions,
    settlement,
    vehicles,
)
from api.tokens import Verifier

PREFIX = "/api/v1"


def create_app(config: ApiConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await app.state.db.open()
        yield
        await app.state.db.close()

    # Routes return plain dicts without a response model, so FastAPI's jsonable_encoder writes
    # them: Decimal figures (126.39) become JSON numbers, not strings.
    app = FastAPI(
        title="wattline API",
        version="1",
        summary="EV charging (OCPP 1.6-J) and smart meter figures, as the CLI and dashboard show",
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.db = Database(config.database_url, config.pool_size)
    app.state.verifier = Verifier(config.secret, config.jwks_url, config.audience, config.issuer)
    app.state.responses = Counter()
    problems.install(app)

    @app.middleware("http")
    async def count(request: Request, call_next):
        response = await call_next(request)
        app.state.responses[response.status_code] += 1
        return response

    app.include_router(health.router)
    for module in (charge_points, sessions, vehicles, meters, settlement, commands, admin):
        app.include_router(module.router, prefix=PREFIX)
    return app
