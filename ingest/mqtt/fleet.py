"""Simulated meters: what each would publish over a step of time. Pure (no I/O), seeded.

Prepayment meters burn their balance with their tariff (unit rate per kWh, element A by day
and B by night on dual-rate meters, plus the standing charge), get topped up when low, and fall
back on emergency credit; prosumer meters import the household load and export surplus solar.
Every meter's signal (CSQ) and clock drift wander, and now and then one goes offline for a while.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

Message = tuple[str, Any]  # (kind, JSON payload)

TARIFF = {
    "standing_charge": 0.5868,  # per day
    "unit_rate_element_a": 0.2843,  # per kWh
    "unit_rate_element_b": 0.1500,
    "prepayment_ecredit_availability": 10.00,
    "prepayment_debt_recovery_rate": 0.25,
    "prepayment_emergency_credit": 15.00,
}
LOW_BALANCE = 5.0
NIGHT = range(0, 7)  # hours on the cheaper B element of dual-rate meters


def household_w(t: datetime) -> float:
    """A plausible household load: a night base, a morning and a larger evening peak."""
    h = t.hour + t.minute / 60
    morning = 900 * math.exp(-((h - 7.5) ** 2) / 1.5)
    evening = 1600 * math.exp(-((h - 19) ** 2) / 3)
    return 250 + morning + evening


def solar_w(t: datetime, peak_w: float) -> float:
    """Clear-sky solar: a half sine between 06:00 and 18:00, peaking at noon."""
    h = t.hour + t.minute / 60
    return peak_w * math.sin(math.pi * (h - 6) / 12) if 6 < h < 18 else 0.0


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")


@dataclass
class SimMeter:
    serial: str
    rng: random.Random
    dual_rate: bool = False
    import_wh: dict[str, float] = field(default_factory=dict)
    export_wh: dict[str, float] = field(default_factory=dict)
    csq: int = 20
    clock_drift_s: float = 0.0
    offline_steps: int = 0

    def elements(self) -> tuple[str, ...]:
        return ("A", "B") if self.dual_rate else ("SINGLE",)

    def element_at(self, t: datetime) -> str:
        if not self.dual_rate:
            return "SINGLE"
        return "B" if t.hour in NIGHT else "A"

    def step(self, now: datetime, dt_s: float) -> list[Message]:
        """Advance by ``dt_s`` seconds ending at ``now``; the messages to publish (none while
        offline)."""
        self._wander(dt_s)
        if self.offline_steps:
            self.offline_steps -= 1
            self._advance(now, dt_s, now)  # the registers still turn
            return []
        if self.rng.random() < 0.01:
            self.offline_steps = self.rng.randint(3, 20)
        clock = now + timedelta(seconds=self.clock_drift_s)  # the meter stamps with its clock
        messages = self._advance(now, dt_s, clock)
        messages.append(("reading", self._readings(clock)))
        messages.append(
            (
                "health",
                {
                    "ts": _iso(clock),
                    "csq": self.csq,
                    "clock_time_diff_seconds": round(self.clock_drift_s),
                    "voltage": round(self.rng.gauss(240, 3), 1),
                },
            )
        )
        return messages

    def _wander(self, dt_s: float) -> None:
        self.csq = min(31, max(0, self.csq + self.rng.choice((-2, -1, 0, 0, 1, 2))))
        self.clock_drift_s += self.rng.gauss(0, 0.5) * dt_s / 60
        self.clock_drift_s = max(-120.0, min(120.0, self.clock_drift_s))

    def _readings(self, clock: datetime) -> list[dict]:
        return [
            {
                "ts": _iso(clock),
                "element": e,
                "import_wh": round(self.import_wh.get(e, 0.0), 1),
                "export_wh": round(self.export_wh.get(e, 0.0), 1),
            }
            for e in self.elements()
        ]

    def _advance(self, now: datetime, dt_s: float, clock: datetime) -> list[Message]:
        """Turn the registers over the step; messages other than readings and health."""
        raise NotImplementedError


@dataclass
class PrepayMeter(SimMeter):
    balance: float = 20.0
    emergency_credit: float = TARIFF["prepayment_emergency_credit"]
    tariff: dict = field(default_factory=lambda: dict(TARIFF))

    def tariff_message(self, now: datetime) -> Message:
        active = {**self.tariff, "activation_datetime": "2024-10-01T00:00:00Z"}
        return ("tariff", {"ts": _iso(now), "active": active})

    def _advance(self, now: datetime, dt_s: float, clock: datetime) -> list[Message]:
        element = self.element_at(now)
        wh = household_w(now) * dt_s / 3600
        self.import_wh[element] = self.import_wh.get(element, 0.0) + wh
        rate = self.tariff["unit_rate_element_b" if element == "B" else "unit_rate_element_a"]
        standing = self.tariff["standing_charge"] * dt_s / 86400
        self.balance -= wh / 1000 * rate + standing
        messages: list[Message] = []
        if self.balance < LOW_BALANCE and self.rng.random() < 0.2:
            amount = self.rng.choice((10, 20, 30))
            self.balance += amount
            messages.append(
                ("event", {"ts": _iso(clock), "type": "top_up", "details": {"amount": amount}})
            )
        # Below zero the meter runs on emergency credit, down to its limit; then supply stops.
        self.balance = max(self.balance, -self.emergency_credit)
        messages.append(
            (
                "balance",
                {
                    "ts": _iso(clock),
                    "balance": round(self.balance, 2),
                    "emergency_credit": self.emergency_credit,
                },
            )
        )
        return messages


@dataclass
class ProsumerMeter(SimMeter):
    peak_solar_w: float = 4000.0

    def _advance(self, now: datetime, dt_s: float, clock: datetime) -> list[Message]:
        element = self.element_at(now)
        cloud = self.rng.uniform(0.4, 1.0)
        net_w = household_w(now) - solar_w(now, self.peak_solar_w) * cloud
        self.import_wh[element] = self.import_wh.get(element, 0.0) + max(net_w, 0) * dt_s / 3600
        self.export_wh[element] = self.export_wh.get(element, 0.0) + max(-net_w, 0) * dt_s / 3600
        return []


def make_fleet(count: int, seed: int = 0, prefix: str = "SIM") -> list[SimMeter]:
    """``count`` meters: about two thirds prepayment (half of those dual-rate), the rest
    prosumer, each with its own random state derived from ``seed``."""
    fleet: list[SimMeter] = []
    for i in range(count):
        rng = random.Random(f"{seed}-{i}")
        serial = f"{prefix}{i:06d}"
        start = {"csq": rng.randint(5, 31), "rng": rng, "serial": serial}
        if i % 3 == 2:
            fleet.append(ProsumerMeter(peak_solar_w=rng.uniform(2500, 6000), **start))
        else:
            fleet.append(
                PrepayMeter(dual_rate=i % 3 == 1, balance=round(rng.uniform(2, 40), 2), **start)
            )
    return fleet
