"""Reading times from outside: ISO-8601 with a time zone, or a clear refusal. A time without a
zone would be read in some unknown local time, so every edge (OCPP, MQTT, the CLI) refuses it."""

from __future__ import annotations

from datetime import datetime


def aware_time(text: str) -> datetime:
    """Parse ``text``; the ValueError's message says what is wrong and reads after a field name
    ("ts has no time zone ...")."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError("is not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise ValueError("has no time zone (add Z or an offset, e.g. 2024-01-27T09:45:00Z)")
    return value
