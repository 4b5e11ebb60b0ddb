"""The OCPP load benchmark's core at a tiny size, against the test's own database: `wattline
ocpp` in a process of its own, the lean generator in another, and every acknowledged
MeterValues found in the database, exactly. No timings are asserted (the machine is shared)."""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is not an installed package (benchmarks run from the work tree with `python -m`).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import ocpp_load  # noqa: E402
from bench.ocpp_loadgen import VALUES_PER_MESSAGE  # noqa: E402


def test_every_acknowledged_meter_values_lands_exactly_once(db_url):
    r = ocpp_load.run(db_url, chargers=20, rate=40, seconds=5)
    assert r["booted"] == 20
    assert r["errors"] == 0, r["error_samples"]
    assert r["offered"] == 200
    assert r["acknowledged"] == r["offered"]
    assert r["meter_value_rows"] == r["acknowledged"] * VALUES_PER_MESSAGE
    assert r["meter_values_frames"] == r["acknowledged"]  # each CALL kept in ocpp_messages
    assert r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]
    (row,) = [line for line in ocpp_load.report(r, 20, 40, 5).splitlines() if "rows =" in line]
    assert [cell.strip() for cell in row.split("|")[2:5]] == ["800", "800", "yes"]
