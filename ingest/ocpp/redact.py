"""Secrets out of what is stored and logged: the value of an AuthorizationKey (the password a
ChangeConfiguration gives a charge point, or a GetConfiguration answer that lists it) and HTTP
Authorization headers. The reader's views (0019) also hide id tags; the central system keeps
those, it needs them.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

REDACTED = "[redacted]"
_KEY = "authorizationkey"  # OCPP configuration keys are CiString50: compared without case
_AUTH_HEADER = re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=,]\s*['\"]?)[^\r\n'\"]*")
_MENTION = re.compile(_KEY, re.IGNORECASE)
# Loggers that can see a frame or a request's headers (websockets logs both at debug). A
# logger's filter sees only what is logged on that very logger, hence each by name.
LOGGERS = (
    "ocpp",
    "websockets",
    "websockets.server",
    "websockets.client",
    *(
        f"ingest.ocpp.{module}"
        for module in ("wire", "frames", "handlers", "commands", "server", "service")
    ),
)


def is_authorization_key(payload: Any) -> bool:
    return isinstance(payload, dict) and str(payload.get("key", "")).lower() == _KEY


def mentions_secret(frame: str) -> bool:
    return _MENTION.search(frame) is not None


def payload(value: Any) -> Any:
    """``value`` with every AuthorizationKey's value replaced (a copy; the input is untouched)."""
    if isinstance(value, dict):
        secret = is_authorization_key(value)
        return {k: REDACTED if secret and k == "value" else payload(v) for k, v in value.items()}
    if isinstance(value, list):
        return [payload(v) for v in value]
    return value


def text(frame: str) -> str:
    """A frame without an AuthorizationKey's value: JSON is redacted field by field; anything
    else that names one (a truncated frame, say) is withheld whole."""
    if not mentions_secret(frame):
        return frame
    try:
        return json.dumps(payload(json.loads(frame)), separators=(",", ":"))
    except ValueError:
        return f"{REDACTED} ({len(frame)} characters naming an AuthorizationKey)"


def log_line(line: str) -> str:
    """A log line without an AuthorizationKey's value or an Authorization header's."""
    line = text(line)
    if "authorization" in line.lower():
        return _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, line)
    return line


class RedactingFilter(logging.Filter):
    """Rewrites a record's message before any handler sees it, at every level. Runs only for
    records that are emitted (the level check comes first), so it costs nothing at INFO for the
    debug lines of every frame."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(
            isinstance(a, str) and a.lower() in ("authorization", "proxy-authorization")
            for a in args
        ):
            # websockets logs a header as ("< %s: %s", name, value)
            record.args = _header_args(args)
        message = record.getMessage()
        clean = log_line(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def _header_args(args: tuple) -> tuple:
    out, hide = [], False
    for a in args:
        out.append(REDACTED if hide else a)
        hide = isinstance(a, str) and a.lower() in ("authorization", "proxy-authorization")
    return tuple(out)


_FILTER = RedactingFilter()


def install() -> None:
    """Put the filter on every logger that sees frames or headers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
