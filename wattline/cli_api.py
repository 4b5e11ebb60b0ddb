"""`wattline api` (the HTTP JSON API on uvicorn) and `wattline token issue`. Wiring only."""

from __future__ import annotations

import argparse
import sys

from wattline.settings import Settings


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.config import ApiConfig

    config = ApiConfig.from_settings(settings)  # checked here, before any worker starts
    host = args.host or config.host
    port = args.port or config.port
    workers = args.workers or config.workers
    print(f"wattline API on http://{host}:{port}/api/v1 (docs: /docs), {workers} worker(s)")
    uvicorn.run(
        "api.app:from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="debug" if args.verbose else "info",
        access_log=args.verbose,
        proxy_headers=True,
    )
    return 0


def _issue(args: argparse.Namespace, settings: Settings) -> int:
    from api import tokens

    scopes = [s for arg in args.scope for s in arg.replace(",", " ").split()]
    try:
        if settings.api_secret is None:
            raise ValueError("set WATTLINE_API_SECRET (or WATTLINE_API_SECRET_FILE) to sign with")
        token = tokens.issue(
            settings.api_secret.get_secret_value(),
            args.subject,
            scopes,
            tokens.parse_ttl(args.ttl),
            audience=settings.api_audience,
            issuer=settings.api_issuer,
            account=args.account,
        )
    except ValueError as exc:
        print(f"wattline token issue: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("api", help="serve the HTTP JSON API (http://HOST:8080/api/v1, /docs)")
    a.add_argument("--host", help="listen address (default: WATTLINE_API_HOST or 0.0.0.0)")
    a.add_argument("--port", type=int, help="listen port (default: WATTLINE_API_PORT or 8080)")
    a.add_argument("--workers", type=int, help="processes (default: WATTLINE_API_WORKERS or 1)")
    a.set_defaults(func=_serve)

    t = sub.add_parser("token", help="API bearer tokens").add_subparsers(
        dest="token_action", required=True
    )
    issue = t.add_parser("issue", help="print an HS256 token signed with WATTLINE_API_SECRET")
    issue.add_argument("--subject", required=True, help="who the token is for (the sub claim)")
    issue.add_argument(
        "--scope",
        action="append",
        required=True,
        help="read, operate, admin, self (repeat, or comma-separated)",
    )
    issue.add_argument("--ttl", default="30d", help="lifetime: 90s, 15m, 12h, 30d (default 30d)")
    issue.add_argument("--account", help="the account a self token belongs to")
    issue.set_defaults(func=_issue)
