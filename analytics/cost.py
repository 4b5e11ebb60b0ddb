"""Money and energy rounding. Money is Decimal, rounded half-up to the currency's minor unit in
one place (``money``), as a till receipt would be. A session's cost, tax and total are worked out
once, in analytics/session_report.py, for every surface."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DEFAULT_TAX_RATE = Decimal("0.18")
KWH = Decimal("0.001")
CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def kwh_from_wh(wh: Decimal | int) -> Decimal:
    """kWh to 3 decimals (Wh precision)."""
    return (Decimal(wh) / 1000).quantize(KWH, rounding=ROUND_HALF_UP)
