"""Time-of-use bands: validation, and the split of register energy across bands (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import polars as pl
import pytest

from analytics.session_report import FLAT, WH, band_energy
from analytics.tou import Band, bands_frame, parse_bands

NIGHT = [{"from": "22:00", "to": "06:00", "energy_rate": 8}]


def test_bands_parse_to_seconds_after_local_midnight():
    assert parse_bands(NIGHT) == [Band(22 * 3600, 6 * 3600, D(8))]
    assert parse_bands(None) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"from": "22:00"}, "JSON array"),
        ([{"from": "22:00", "to": "06:00"}], "band 0: needs exactly"),
        ([{"from": "24:00", "to": "06:00", "energy_rate": 1}], "band 0: 'from' must be"),
        ([{"from": "06:00", "to": "06:00", "energy_rate": 1}], "the same time"),
        ([{"from": "06:00", "to": "07:00", "energy_rate": -1}], "energy_rate must be"),
        ([{"from": "06:00", "to": "07:00", "energy_rate": "x"}], "energy_rate must be"),
    ],
)
def test_bad_bands_say_what_is_wrong(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_bands(raw)


def _chain(tz: str, links: list[tuple[str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "transaction_id": [1] * len(links),
            "tariff_id": ["T"] * len(links),
            "timezone": [tz] * len(links),
            "time": [datetime.fromisoformat(t).astimezone(UTC) for t, _ in links],
            "value": [D(v) for _, v in links],
            "priority": [1] * len(links),
        },
        schema_overrides={"time": pl.Datetime("us", "UTC"), "value": WH},
    )


def test_a_band_wrapping_midnight_and_a_register_reset():
    bands = bands_frame({"T": parse_bands(NIGHT)})
    chain = _chain(
        "Europe/London",
        [
            ("2024-07-01T21:00+01:00", 1000),
            ("2024-07-01T22:00+01:00", 1500),  # +500 in the band (its start is inclusive)
            ("2024-07-02T05:59+01:00", 4500),  # +3000 in the band (after midnight)
            ("2024-07-02T06:00+01:00", 4600),  # +100 outside (the band's end is exclusive)
            ("2024-07-02T06:30+01:00", 10),  # reset: 0, never negative
            ("2024-07-02T07:00+01:00", 210),  # +200 outside
        ],
    )
    split = {r["band"]: r["energy_wh"] for r in band_energy(chain, bands).iter_rows(named=True)}
    assert split == {0: D(3500), FLAT: D(300)}
