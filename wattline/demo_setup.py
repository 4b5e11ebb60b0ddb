"""What an operator would set up before the demo's devices report, done through the same admin
code as the CLI and the API (never straight into tables): tariffs (one with a night band),
vehicles on the id tags, each connector's maximum power, and accounts owning meters and id
tags. With these every figure has a value: cost and tax, SOC change, range, efficiency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from analytics.tariffs import save_tariff, tariff_params
from ingest.ocpp import admin
from sql import db, queries

ID_TAGS = [f"TAG-{n:04d}" for n in range(1, 50)]  # the charger simulator picks TAG-0001..0049
# (tariff id, rate per kWh, time-of-use bands); tax 18 % (GST on charging in India).
TARIFFS = (
    ("DEMO-FLAT", Decimal("12.50"), None),
    ("DEMO-TOU", Decimal("14.00"), [{"from": "22:00", "to": "06:00", "energy_rate": 8.00}]),
)
TAX_RATE = Decimal("0.18")
# (battery kWh, km per kWh): a small hatchback, a mid-size SUV, a large saloon.
VEHICLES = tuple((Decimal(b), Decimal(k)) for b, k in (("40", "6.5"), ("60", "5.8"), ("77", "5.2")))
ACCOUNTS = (("ACME", "Acme Housing Society"), ("GREENFIELD", "Greenfield Apartments"))


@dataclass(frozen=True)
class Charger:
    identity: str
    max_kw: float


def apply(dsn: str, chargers: Sequence[Charger], meter_serials: Sequence[str]) -> None:
    """Idempotent: running the demo again sets the same values."""
    for identity in (c.identity for c in chargers):
        admin.save_charge_point(dsn, identity, None)
    for tag in ID_TAGS:
        admin.save_id_tag(dsn, tag, "Accepted", None, None, None)
    for c in chargers:
        admin.save_max_power(dsn, c.identity, 1, c.max_kw)
    with db.connect(dsn) as conn:
        for n, (tariff_id, rate, bands) in enumerate(TARIFFS):
            params = tariff_params(tariff_id, rate, TAX_RATE, "INR", bands)
            # Alternate chargers: the first on the flat tariff, the second on time-of-use, ...
            mine = [(c.identity, 1) for i, c in enumerate(chargers) if i % len(TARIFFS) == n]
            save_tariff(conn, params, mine)
        for n, tag in enumerate(ID_TAGS):
            battery, km = VEHICLES[n % len(VEHICLES)]
            conn.execute(
                queries.get("api_save_vehicle"),
                {"id_tag": tag, "battery_kwh": battery, "km_per_kwh": km},
            )
        for account_id, name in ACCOUNTS:
            conn.execute(queries.get("api_save_account"), {"account_id": account_id, "name": name})
        for n, serial in enumerate(meter_serials):
            owner = ACCOUNTS[n % len(ACCOUNTS)][0]
            params = {"serial": serial, "name": None, "timezone": None, "account_id": owner}
            conn.execute(queries.get("api_update_meter"), params)
        for n, tag in enumerate(ID_TAGS):
            owner = ACCOUNTS[n % len(ACCOUNTS)][0]
            conn.execute(
                queries.get("api_set_id_tag_account"), {"id_tag": tag, "account_id": owner}
            )
