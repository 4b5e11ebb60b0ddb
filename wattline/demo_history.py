"""The demo's history fill plan: which sessions each simulated charger runs over the last days,
decided up front from a seeded RNG, so the fill is reproducible and a test can count the
sessions and energy it must produce without running it.

The fill itself (issue 17, not yet wired) replays this plan through the real OCPP server with
the simulator on a virtual clock: timestamps come from the plan, nothing sleeps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

SESSIONS_PER_DAY = (2, 4)  # inclusive range per charger per day
KWH_RANGE = (5, 30)  # whole kWh, so totals are exact in Wh
MAX_KW = (7.4, 11.0, 22.0)  # the simulator's connector sizes


@dataclass(frozen=True)
class PlannedSession:
    charger: str
    start: datetime
    stop: datetime
    energy_wh: int


def plan(chargers: list[str], days: int, end: datetime, seed: int) -> list[PlannedSession]:
    """Sessions of ``chargers`` over the ``days`` whole days before ``end``: each day split into
    equal slots, one session at most per slot, so sessions of one charger never overlap."""
    rng = random.Random(seed)
    first_day = end - timedelta(days=days)
    out: list[PlannedSession] = []
    for charger in chargers:
        max_kw = rng.choice(MAX_KW)
        for day in range(days):
            count = rng.randint(*SESSIONS_PER_DAY)
            slot = timedelta(days=1) / count
            for n in range(count):
                energy_wh = rng.randint(*KWH_RANGE) * 1000
                # Constant power for planning; the slot always fits (30 kWh at 7.4 kW < 6 h).
                duration = timedelta(hours=energy_wh / 1000 / max_kw)
                offset = rng.uniform(0, (slot - duration).total_seconds())
                start = first_day + timedelta(days=day) + slot * n + timedelta(seconds=offset)
                out.append(PlannedSession(charger, start, start + duration, energy_wh))
    return out
