"""Time-of-use bands of a tariff: ``[{"from": "22:00", "to": "06:00", "energy_rate": 8.00}]`` in
the charge point's local time. A band runs from ``from`` (inclusive) to ``to`` (exclusive) and
may wrap midnight; outside every band the tariff's own ``energy_rate`` holds. Where bands
overlap, the first listed wins, so an operator can put an exception before a general band."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import polars as pl

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
BAND_SCHEMA = {"tariff_id": pl.String, "band": pl.Int64, "from_s": pl.Int64, "to_s": pl.Int64}


@dataclass(frozen=True)
class Band:
    from_s: int  # seconds after local midnight
    to_s: int
    rate: Decimal


def _seconds(value: object, field: str, i: int) -> int:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"band {i}: {field!r} must be a local time HH:MM, got {value!r}")
    return int(match[1]) * 3600 + int(match[2]) * 60


def parse_bands(raw: object) -> list[Band]:
    """Validated bands from the decoded JSON (None means no bands); ValueError says what is
    wrong with which band."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError("bands must be a JSON array of {from, to, energy_rate} objects")
    bands = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) != {"from", "to", "energy_rate"}:
            raise ValueError(f"band {i}: needs exactly the fields from, to and energy_rate")
        start, end = _seconds(item["from"], "from", i), _seconds(item["to"], "to", i)
        if start == end:
            raise ValueError(f"band {i}: from and to are the same time")
        try:
            rate = Decimal(str(item["energy_rate"]))
        except InvalidOperation:
            rate = Decimal(-1)
        if isinstance(item["energy_rate"], bool) or not rate.is_finite() or rate < 0:
            raise ValueError(f"band {i}: energy_rate must be a number >= 0")
        bands.append(Band(start, end, rate))
    return bands


def in_band(seconds: pl.Expr, from_s: pl.Expr, to_s: pl.Expr) -> pl.Expr:
    """Whether a local time of day falls in a band; a band with from > to wraps midnight."""
    plain = (from_s <= seconds) & (seconds < to_s)
    wrapped = (seconds >= from_s) | (seconds < to_s)
    return pl.when(from_s < to_s).then(plain).otherwise(wrapped)


def bands_frame(tariff_bands: dict[str, list[Band]]) -> pl.DataFrame:
    """One row per tariff and band, in listed order (``band``), for joining to readings.
    Rates stay out of the frame: money is Decimal arithmetic done in Python."""
    rows = [
        {"tariff_id": tariff, "band": i, "from_s": b.from_s, "to_s": b.to_s}
        for tariff, bands in tariff_bands.items()
        for i, b in enumerate(bands)
    ]
    return pl.DataFrame(rows, schema=BAND_SCHEMA)
