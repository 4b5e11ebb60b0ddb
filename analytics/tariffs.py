"""Saving a tariff and assigning it to connectors, with the checks the CLI (`wattline tariff
set`) and the API (PUT /admin/tariffs/{id}) share."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import psycopg

from analytics.tou import parse_bands
from sql import queries

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def tariff_params(
    tariff_id: str, energy_rate: Decimal, tax_rate: Decimal, currency: str, bands: object
) -> dict:
    """The save_tariff parameters; ValueError says what is wrong. ``bands`` is the decoded JSON
    (None: a flat tariff)."""
    if not _CURRENCY.match(currency):
        raise ValueError(f"the currency must be a 3-letter code like INR, not {currency!r}")
    for name, value in (("rate", energy_rate), ("tax rate", tax_rate)):
        if not value.is_finite() or value < 0:
            raise ValueError(f"the {name} must be a number >= 0, not {value}")
    parse_bands(bands)
    return {
        "tariff_id": tariff_id,
        "energy_rate": energy_rate,
        "tax_rate": tax_rate,
        "currency": currency,
        "bands": None if bands is None else json.dumps(bands),
    }


def save_tariff(conn: psycopg.Connection, params: dict, connectors: list[tuple[str, int]]) -> None:
    """Save the tariff and assign it to the connectors, all or nothing."""
    with conn.transaction():
        conn.execute(queries.get("save_tariff"), params)
        for charge_point_id, connector_id in connectors:
            conn.execute(
                queries.get("assign_tariff"),
                {
                    "charge_point_id": charge_point_id,
                    "connector_id": connector_id,
                    "tariff_id": params["tariff_id"],
                },
            )
