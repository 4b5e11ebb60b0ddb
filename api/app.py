"""The FastAPI application: routes under /api/v1, /docs and /openapi.json, problem documents
for every error, one database (async pool) per process."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

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
from wattline.observe import metrics

PREFIX = "/api/v1"


class CountResponses:
    """Responses by status code in the shared registry (wattline_api_responses_total); plain
    ASGI, which costs a fraction of Starlette's BaseHTTPMiddleware on every request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting(message) -> None:
            if message["type"] == "http.response.start":
                metrics.api_response(message["status"])
            await send(message)

        await self.app(scope, receive, counting)


def from_env() -> FastAPI:
    """The app from the environment: what each uvicorn worker process builds for itself."""
    return create_app(ApiConfig.from_env())


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
    problems.install(app)

    app.add_middleware(CountResponses)
    app.include_router(health.router)
    for module in (charge_points, sessions, vehicles, meters, settlement, commands, admin):
        app.include_router(module.router, prefix=PREFIX)
    return app
