"""The writer's memory of each register series' last reading, so most rows can be COPYed straight
into their table with their delta already computed (see sql/migrations/0011_writer_slots.sql).

A row takes the fast path when the row is newer than its series' last reading: its delta follows
the rules of migration 0018, exactly as the merge computes them (``register_step``): measured
against the last reading, or against the value before a drop while the register recovers; a
reading lower than the last is a drop (delta 0, quality 'reset'); a delta above the device's
maximum power over the interval is held (delta 0, ``held``, quality 'suspect'); a series' first
reading has delta 0. The last reading (with its reference and the series' limits) comes from
memory when the series' slot has been written by nobody else since; otherwise (a series seen for
the first time, a slot another writer touched) it is read from the table first, one index probe
per series.
Out-of-order and re-sent readings are staged and merged in SQL, which is always right, and their
series' last reading is read back afterwards.

Nothing here changes until the transaction commits: ``split`` works on a scratch copy that the
writer hands back to ``commit``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from itertools import islice
from typing import Any

SLOTS = 64  # per target; must match wattline_admin.writer_slots
NOTHING = datetime.min.replace(tzinfo=UTC)  # the "last reading" of a series with none stored
ZERO = Decimal(0)
# Products of the suspect test, exact whatever the digits (the database's numeric is exact).
EXACT = Context(prec=100)
MICROSECONDS_PER_HOUR_CENTI = Decimal(360_000 * 1_000_000)  # 3600 s * 100 (centiwatts) * 10^6
ONE_US = timedelta(microseconds=1)


def register_step(
    value: Decimal,
    prev: Decimal,
    reference: Decimal | None,
    elapsed: timedelta,
    max_power_cw: Decimal,
    tolerance_wh: Decimal,
    accepted: bool,
) -> tuple[Decimal, Decimal, Decimal | None, bool]:
    """One register reading after ``prev`` (whose stored reference is ``reference``, None when
    it is its own): (delta, held, the reference to store, whether it is a drop). Mirrors
    wattline.register_delta and wattline.held_wh (migration 0018) to the digit."""
    base = prev if reference is None else reference
    if value < prev:
        return ZERO, ZERO, base, True
    delta = value - base if value >= base else value - prev
    if not accepted and EXACT.multiply(
        EXACT.subtract(delta, tolerance_wh), MICROSECONDS_PER_HOUR_CENTI
    ) > EXACT.multiply(max_power_cw, Decimal(elapsed // ONE_US)):
        return ZERO, delta, None, False
    return delta, ZERO, None, False


def reading_quality(old: str, held: bool, dropped: bool) -> str:
    """As wattline.reading_quality (0018)."""
    if held:
        return "suspect"
    if dropped:
        return "reset"
    return "ok" if old in ("reset", "suspect") else old


@dataclass(frozen=True)
class Series:
    """How one target's rows map to series and to the columns stored with their deltas."""

    target: str
    table: str
    columns: tuple[str, ...]  # the COPY columns of the fast path
    types: tuple[str, ...]  # their database types, for a binary COPY
    probe_query: str  # named query: the last stored reading of the series asked for


METER_VALUES = Series(
    "meter_values",
    "wattline.meter_values",
    ("time", "received_at", "charge_point_id", "connector_id", "transaction_id", "measurand",
     "phase", "location", "context", "unit", "value", "delta", "reference", "held", "quality"),
    ("timestamptz", "timestamptz", "text", "int4", "int4", "text", "text", "text", "text",
     "text", "numeric", "numeric", "numeric", "numeric", "text"),
    "probe_meter_values",
)  # fmt: skip
REGISTER_READINGS = Series(
    "register_readings",
    "wattline.register_readings",
    ("time", "received_at", "register_id", "meter_id", "element", "import_wh", "export_wh",
     "import_w", "export_w", "delta_import_wh", "delta_export_wh", "reference_import_wh",
     "reference_export_wh", "held_import_wh", "held_export_wh", "quality"),
    ("timestamptz", "timestamptz", "uuid", "uuid", "text", "numeric", "numeric", "numeric",
     "numeric", "numeric", "numeric", "numeric", "numeric", "numeric", "numeric", "text"),
    "probe_register_readings",
)  # fmt: skip


@dataclass
class Plan:
    """One transaction's split of a target's rows, and what the cache learns if it commits."""

    fast: list[tuple] = field(default_factory=list)
    staged: list[tuple] = field(default_factory=list)
    learned: dict[Any, list] = field(default_factory=dict)  # key -> [slot, epoch, time, values]
    versions: dict[int, int] = field(default_factory=dict)  # slot -> version we leave it at
    probed: int = 0  # series read from the table because memory could not vouch for them


class SeriesCache:
    def __init__(self, series: Series, max_series: int) -> None:
        self.series = series
        self.max_series = max_series
        self._last: dict[Any, list] = {}  # key -> [slot, epoch, time, values]
        self._epoch = [0] * SLOTS  # bumped to forget every series of a slot at once
        self._versions: dict[int, int] = {}  # slot -> version this writer left it at

    # -- per row: overridden per target ---------------------------------------------------

    def key(self, row: tuple) -> Any:
        raise NotImplementedError

    def slot_of(self, key: Any) -> int:
        raise NotImplementedError

    def stored(self, row: tuple, last: list | None) -> tuple[tuple, tuple] | None:
        """The row as stored (with deltas from ``last``) and the values to remember, or None
        when its values are not of the types the delta needs (the database will judge them)."""
        raise NotImplementedError

    # -- per transaction ------------------------------------------------------------------

    def keys_and_slots(self, rows: list[tuple]) -> tuple[list, list[int]]:
        keys = [self.key(r) for r in rows]
        slots = set()
        last = self._last
        for k in keys:
            entry = last.get(k)
            slots.add(entry[0] if entry is not None else self.slot_of(k))
        return keys, sorted(slots)

    def claimed(self, writer: str, previous: list[tuple[int, str | None, int]]) -> Plan:
        """Given who bumped each claimed slot last (claim_writer_slots), forget the slots
        someone else has written since; returns a plan carrying the versions we leave."""
        plan = Plan()
        for slot, by, version in previous:
            if by != writer or self._versions.get(slot) != version:
                self._epoch[slot] += 1
            plan.versions[slot] = version + 1
        return plan

    def unknown(self, keys: list) -> list:
        """The distinct series among ``keys`` whose last reading memory cannot vouch for."""
        last, epoch, out = self._last, self._epoch, []
        for key in dict.fromkeys(keys):
            entry = last.get(key)
            if entry is None or entry[1] != epoch[entry[0]]:
                out.append(key)
        return out

    def probe_params(self, keys: list) -> dict[str, list]:
        raise NotImplementedError

    def probed(self, plan: Plan, keys: list, found: list[tuple]) -> None:
        """The probe's answer, a row per series: (ordinal of the key, time, the last reading's
        values and references, max_power_cw, tolerance_wh); time and readings are NULL for a
        series with none stored."""
        epoch = self._epoch
        for row in found:
            key = keys[row[0] - 1]
            slot = self.slot_of(key)
            plan.learned[key] = [slot, epoch[slot], row[1] or NOTHING, tuple(row[2:])]

    def split(self, plan: Plan, rows: list[tuple], keys: list) -> None:
        last, epoch, learned = self._last, self._epoch, plan.learned
        for row, key in zip(rows, keys, strict=True):
            entry = learned.get(key)
            if entry is None:
                entry = last.get(key)
                if entry is not None and entry[1] != epoch[entry[0]]:
                    entry = None
            time = row[0]
            if entry is None or not isinstance(time, datetime) or time <= entry[2]:
                plan.staged.append(row)
                continue
            out = self.stored(row, entry)
            if out is None:
                plan.staged.append(row)
                continue
            plan.fast.append(out[0])
            learned[key] = [entry[0], entry[1], time, out[1]]

    def commit(self, plan: Plan) -> None:
        self._last.update(plan.learned)
        self._versions.update(plan.versions)
        if len(self._last) > self.max_series:
            # Forget the longest-known half; those series take the merge once more.
            for k in list(islice(self._last, len(self._last) // 2)):
                del self._last[k]

    def forget(self) -> None:
        self._last.clear()


class MeterValuesCache(SeriesCache):
    """Charger meter values: a series is (charge point, connector, measurand, phase, location);
    only *.Register measurands keep deltas, the others are remembered for their time alone."""

    def __init__(self, max_series: int) -> None:
        super().__init__(METER_VALUES, max_series)

    def key(self, row: tuple) -> Any:
        return (row[2], row[3], row[5], row[6], row[7])

    def slot_of(self, key: Any) -> int:
        return zlib.crc32(f"{key[0]}/{key[1]}".encode()) % SLOTS

    def probe_params(self, keys: list) -> dict[str, list]:
        columns = ("charge_point_id", "connector_id", "measurand", "phase", "location")
        return dict(zip(columns, map(list, zip(*keys, strict=True)), strict=True))

    def stored(self, row: tuple, last: list | None) -> tuple[tuple, tuple] | None:
        value = row[10]
        if type(value) is not Decimal:
            return None
        prev, reference, cw, tolerance = last[3]
        quality = row[11]
        if not row[5].endswith(".Register"):
            return (*row[:11], None, None, None, quality), (value, None, cw, tolerance)
        if prev is None:
            quality = reading_quality(quality, False, False)
            return (*row[:11], ZERO, None, None, quality), (value, None, cw, tolerance)
        delta, held, reference, dropped = register_step(
            value, prev, reference, row[0] - last[2], cw, tolerance, quality == "accepted"
        )
        quality = reading_quality(quality, held > 0, dropped)
        return (*row[:11], delta, reference, held or None, quality), (
            value, reference, cw, tolerance
        )  # fmt: skip


class RegisterReadingsCache(SeriesCache):
    """Smart-meter registers: a series is a register; import and export both keep deltas."""

    def __init__(self, max_series: int) -> None:
        super().__init__(REGISTER_READINGS, max_series)

    def key(self, row: tuple) -> Any:
        return str(row[2])

    def slot_of(self, key: Any) -> int:
        return zlib.crc32(key.encode()) % SLOTS

    def probe_params(self, keys: list) -> dict[str, list]:
        return {"register_id": keys}

    def stored(self, row: tuple, last: list | None) -> tuple[tuple, tuple] | None:
        imp, exp = row[5], row[6]
        if type(imp) is not Decimal or type(exp) is not Decimal:
            return None
        prev_i, prev_e, ref_i, ref_e, cw, tolerance = last[3]
        quality = row[9]
        if prev_i is None:
            quality = reading_quality(quality, False, False)
            return (*row[:9], ZERO, ZERO, None, None, None, None, quality), (
                imp, exp, None, None, cw, tolerance
            )  # fmt: skip
        elapsed, accepted = row[0] - last[2], quality == "accepted"
        di, hi, ref_i, drop_i = register_step(imp, prev_i, ref_i, elapsed, cw, tolerance, accepted)
        de, he, ref_e, drop_e = register_step(exp, prev_e, ref_e, elapsed, cw, tolerance, accepted)
        quality = reading_quality(quality, hi > 0 or he > 0, drop_i or drop_e)
        return (*row[:9], di, de, ref_i, ref_e, hi or None, he or None, quality), (
            imp, exp, ref_i, ref_e, cw, tolerance
        )  # fmt: skip
