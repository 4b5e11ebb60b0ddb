"""Session money: energy × rate, tax, total. Money is Decimal, rounded half-up to the currency's
minor unit in one place (``money``), as a till receipt would be."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_TAX_RATE = Decimal("0.18")
KWH = Decimal("0.001")
CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def kwh_from_wh(wh: Decimal | int) -> Decimal:
    """kWh to 3 decimals (Wh precision)."""
    return (Decimal(wh) / 1000).quantize(KWH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Cost:
    energy_kwh: Decimal
    cost: Decimal
    tax: Decimal
    total: Decimal
    currency: str


def session_cost(
    energy_kwh: Decimal, rate: Decimal, tax_rate: Decimal = DEFAULT_TAX_RATE, currency: str = "INR"
) -> Cost:
    """cost = energy × rate and tax = cost × tax rate, each rounded half-up to 2 decimals.
    10.111 kWh at 12.50 with 18% tax: 126.39 + 22.75 = 149.14."""
    if energy_kwh < 0 or rate < 0 or tax_rate < 0:
        raise ValueError("energy, rate and tax rate cannot be negative")
    cost = money(energy_kwh * rate)
    tax = money(cost * tax_rate)
    return Cost(energy_kwh, cost, tax, cost + tax, currency)
