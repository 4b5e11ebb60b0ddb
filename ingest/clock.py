"""Reading times from outside: ISO-8601 with a time zone, or a clear refusal. A time without a
zone would be read in some unknown local time, so every edge (OCPP, MQTT, the CLI) refuses it.

A device's clock may also be wrong: never set (1970) or far ahead (year 9999, which PostgreSQL
stores as 10000 in UTC and psycopg cannot read back). ``TimeWindow`` is the range of device
times an ingest takes as such: ``WATTLINE_MIN_TIME`` (default 2000-01-01) to the server's clock
plus ``WATTLINE_MAX_FUTURE_S`` (default 600 s)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ingest import edge
from ingest.env import positive

DEFAULT_MAX_FUTURE_S = 600.0  # clocks drift; further ahead than this is a broken clock
_TEN_YEARS_S = 10 * 366 * 86400


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


@dataclass(frozen=True)
class TimeWindow:
    max_future: timedelta = timedelta(seconds=DEFAULT_MAX_FUTURE_S)
    min_time: datetime = edge.DEFAULT_MIN_TIME

    def problem(self, at: datetime, now: datetime) -> str | None:
        """Why ``at`` (aware) is no time to store a reading at, or None."""
        return edge.time_problem(at, now=now, max_future=self.max_future, min_time=self.min_time)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *aliases: str) -> TimeWindow:
        """``WATTLINE_MAX_FUTURE_S`` (or the first of ``aliases`` that is set, which wins: an
        ingest's own older name) and ``WATTLINE_MIN_TIME``."""
        name = next((a for a in aliases if env.get(a)), "WATTLINE_MAX_FUTURE_S")
        seconds = positive(env, name, DEFAULT_MAX_FUTURE_S)
        if not seconds < _TEN_YEARS_S:  # also NaN and inf, which float() reads
            raise SystemExit(f"{name}={env[name]!r}: expected seconds, less than ten years")
        return cls(timedelta(seconds=seconds), min_time_from_env(env))


def min_time_from_env(env: Mapping[str, str]) -> datetime:
    """WATTLINE_MIN_TIME: a date (midnight UTC) or an ISO-8601 time with a zone."""
    name = "WATTLINE_MIN_TIME"
    value = env.get(name)
    if not value:
        return edge.DEFAULT_MIN_TIME
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        return aware_time(value)
    except ValueError:
        raise SystemExit(
            f"{name}={value!r}: expected a date (2000-01-01) or an ISO-8601 time with a zone"
        ) from None
