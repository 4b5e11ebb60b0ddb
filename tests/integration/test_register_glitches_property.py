"""The writer's deltas (ingest/series_cache.py) and the SQL merge's (migration 0018) are the same
rule: a few hundred random register sequences with drops, recoveries, real resets, jumps past
the maximum power and intervals to the microsecond, written once straight in by the writer in
time order, once merged in SQL in shuffled batches, and once through the writer in shuffled
batches (some rows direct, the late ones merged), must store identical rows."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from test_register_glitches import merge_only

from ingest.writer import TARGETS, Batch, Writer
from sql import db

T0 = datetime(2024, 5, 1, tzinfo=UTC)
NOW = datetime(2024, 5, 2, tzinfo=UTC)
SERIES = 300
READINGS = 12
PATHS = ("direct", "merge", "mixed")


def sequence(rng: random.Random) -> list[tuple[datetime, Decimal]]:
    time, value, before_drop = T0, Decimal(rng.randrange(0, 2_000_000)), None
    out = []
    for _ in range(READINGS):
        time += timedelta(seconds=rng.randrange(5, 300), microseconds=rng.randrange(1_000_000))
        roll = rng.random()
        if roll < 0.15:  # a drop: to 0, to a session-relative value, or a little lower
            before_drop = before_drop or value
            value = rng.choice([Decimal(0), Decimal(rng.randrange(0, 5000)), value * 9 / 10])
        elif roll < 0.3 and before_drop is not None:  # the glitch ends: back to lifetime
            value = before_drop + Decimal(rng.randrange(0, 3000)) / 10
            before_drop = None
        elif roll < 0.35:  # a jump no device could draw
            value += Decimal(rng.randrange(10_000, 10_000_000))
        else:
            value += Decimal(rng.randrange(0, 4_000_000)) / 1000
        out.append((time, value.quantize(Decimal("0.001"))))
    return out


def rows_of(target: str, key, seq) -> list[tuple]:
    if target == "meter_values":
        return [(t, NOW, key, 1, None, "Energy.Active.Import.Register", "", "Outlet",
                 "Sample.Periodic", "Wh", v, "ok") for t, v in seq]  # fmt: skip
    return [(t, NOW, key, key, "SINGLE", v, v / 4, None, None, "ok") for t, v in seq]


STORED = {
    "meter_values": "SELECT charge_point_id, time, value, delta, reference, held, quality"
    "  FROM wattline.meter_values ORDER BY charge_point_id, time",
    "register_readings": "SELECT register_id::text, time, import_wh, delta_import_wh,"
    " reference_import_wh, held_import_wh, export_wh, delta_export_wh, reference_export_wh,"
    " held_export_wh, quality FROM wattline.register_readings ORDER BY register_id, time",
}


@pytest.mark.parametrize("target", sorted(TARGETS.keys() & STORED.keys()))
async def test_writer_and_merge_store_the_same_deltas_for_random_sequences(db_url, target):
    rng = random.Random(f"glitch-{target}")
    sequences = [sequence(rng) for _ in range(SERIES)]
    # The same sequence under one key per path; the key's path is found again from the rows.
    keys = {}
    for path in PATHS:
        for i in range(SERIES):
            if target == "meter_values":
                keys[(path, i)] = f"{path}-{i}"
            else:
                keys[(path, i)] = uuid.uuid5(uuid.NAMESPACE_OID, f"{path}-{i}")
    path_of = {str(k): p for p, k in keys.items()}

    writer = Writer(db_url)
    await writer.start()
    for step in range(READINGS):  # in time order: every row goes direct
        b = Batch()
        for i, seq in enumerate(sequences):
            b.add(target, rows_of(target, keys[("direct", i)], seq)[step])
        await writer.write(b)
    assert writer.rows_merged == 0 and writer.rows_direct == SERIES * READINGS

    shuffled = [r for i, s in enumerate(sequences) for r in rows_of(target, keys[("merge", i)], s)]
    rng.shuffle(shuffled)
    for part in range(4):
        merge_only(db_url, target, shuffled[part::4])

    mixed = [r for i, s in enumerate(sequences) for r in rows_of(target, keys[("mixed", i)], s)]
    rng.shuffle(mixed)
    for part in range(6):
        b = Batch()
        for r in mixed[part::6]:
            b.add(target, r)
        await writer.write(b)
    await writer.stop()
    assert writer.rows_merged > 0 and writer.rows_direct > SERIES * READINGS

    with psycopg.connect(db.with_session_options(db_url)) as conn:
        rows = conn.execute(STORED[target]).fetchall()
    by_path: dict[str, dict[int, list]] = {p: {} for p in PATHS}
    for key, *rest in rows:
        path, i = path_of[key]
        by_path[path].setdefault(i, []).append(tuple(rest))
    assert len(by_path["direct"]) == SERIES
    for i in range(SERIES):
        assert by_path["merge"][i] == by_path["direct"][i], i
        assert by_path["mixed"][i] == by_path["direct"][i], i

    # Not vacuous: the sequences hit every rule many times.
    qualities = Counter(r[-1] for r in rows)
    recovered = sum(
        1
        for seq in by_path["direct"].values()
        for before, row in zip(seq, seq[1:], strict=False)
        if before[3] is not None and row[1] >= before[3] and row[2] > 0
    )
    assert qualities["reset"] > 100 and qualities["suspect"] > 100, qualities
    assert recovered > 50
