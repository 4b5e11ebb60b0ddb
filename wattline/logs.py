"""Logging for every `wattline` process: text (the default) or, with WATTLINE_LOG_FORMAT=json,
one JSON object a line for a log collector: time (ISO-8601 UTC), level, process, the charge
point or meter the line is about (when known), logger, message, and the exception's text.

Either way no secret reaches a line: an AuthorizationKey or Authorization header is redacted as
ingest/ocpp/redact.py does it, and a password inside a URL or a conninfo string is masked. The
filter sits on the handler, so it sees every record, whichever logger it came from.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from ingest.ocpp.redact import log_line

# Set by the OCPP connection handler (per connection task) and the MQTT message handler.
charge_point: ContextVar[str | None] = ContextVar("charge_point", default=None)
meter: ContextVar[str | None] = ContextVar("meter", default=None)

MASK = "***"
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*(@)", re.IGNORECASE)
_CONNINFO_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask(text: str) -> str:
    """``text`` with secrets replaced: redact.py's, then passwords in URLs and conninfo."""
    text = log_line(text)
    if "@" in text:
        text = _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<2>", text)
    if "password" in text.lower():
        text = _CONNINFO_PASSWORD.sub(rf"\g<1>{MASK}", text)
    return text


@contextmanager
def bound(*, charge_point_id: str | None = None, meter_id: str | None = None) -> Iterator[None]:
    """Lines logged inside are about this charge point or meter."""
    tokens = []
    if charge_point_id is not None:
        tokens.append((charge_point, charge_point.set(charge_point_id)))
    if meter_id is not None:
        tokens.append((meter, meter.set(meter_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = mask(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "process": self.process,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (cp := charge_point.get()) is not None:
            line["charge_point"] = cp
        if (m := meter.get()) is not None:
            line["meter"] = m
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = mask(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def formatException(self, ei) -> str:  # noqa: N802 (the stdlib's name)
        return mask(super().formatException(ei))


def setup(fmt: str, process: str, level: int = logging.INFO) -> None:
    """Replace the root logger's handlers with one to stderr in ``fmt`` (text or json)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(SecretFilter())
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else _TextFormatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
