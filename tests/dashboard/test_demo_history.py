"""The history fill plan: counts and energy a user would check, worked out from the rules."""

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from wattline.demo_history import plan

END = datetime(2026, 12, 5, tzinfo=UTC)


def test_plan_counts_and_energy_follow_the_seeded_rng():
    chargers = ["DEMO-0001", "DEMO-0002"]
    sessions = plan(chargers, 3, END, seed=7)
    # Replay the RNG's draws by hand: per charger a size, then per day a count and per session
    # energy and offset.
    rng = random.Random(7)
    count = energy = 0
    for _ in chargers:
        rng.choice((7.4, 11.0, 22.0))
        for _ in range(3):
            n = rng.randint(2, 4)
            count += n
            for _ in range(n):
                energy += rng.randint(5, 30) * 1000
                rng.uniform(0, 1)
    assert len(sessions) == count
    assert sum(s.energy_wh for s in sessions) == energy
    assert 12 <= count <= 24


def test_plan_stays_in_the_window_without_overlap():
    sessions = plan(["A", "B", "C"], 30, END, seed=1)
    assert all(END - timedelta(days=30) <= s.start < s.stop <= END for s in sessions)
    for charger in "ABC":
        mine = sorted((s for s in sessions if s.charger == charger), key=lambda s: s.start)
        assert all(a.stop <= b.start for a, b in pairwise(mine))


def test_plan_is_reproducible():
    assert plan(["A"], 2, END, 3) == plan(["A"], 2, END, 3)
    assert plan(["A"], 2, END, 3) != plan(["A"], 2, END, 4)
