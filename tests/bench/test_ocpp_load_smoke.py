"""The OCPP load benchmark's core at a tiny size, against the test's own database: `wattline
ocpp` in a process of its own, the lean generator in another, and every acknowledged
MeterValues found in the database, exactly. No timings are asserted (the machine is shared)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# bench/ is not an installed package (benchmarks run from the work tree with `python -m`).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import ocpp_load  # noqa: E402
from sql import db  # noqa: E402

CHARGERS, RATE, SECONDS = 20, 40, 5
MESSAGES = RATE * SECONDS  # 200 MeterValues on the generator's schedule
ROWS = MESSAGES * 4  # each with four sampled values: register, power, current, SoC


@pytest.mark.parametrize("ocpp", ["1.6", "2.0.1"])
def test_every_acknowledged_meter_values_lands_exactly_once(db_url, ocpp):
    r = ocpp_load.run(db_url, chargers=CHARGERS, rate=RATE, seconds=SECONDS, ocpp=ocpp)
    assert r["booted"] == CHARGERS
    assert r["errors"] == 0, r["error_samples"]
    assert r["sent"] == MESSAGES
    assert r["acknowledged"] == MESSAGES
    assert r["meter_value_rows"] == ROWS
    assert r["meter_values_frames"] == MESSAGES  # each CALL kept in ocpp_messages
    # The percentiles are taken over one measured latency per acknowledged message.
    assert r["latency_count"] == MESSAGES
    # Every charge point spoke the version asked for (its BootNotification recorded it).
    with db.connect(db_url) as conn:
        versions = conn.execute("SELECT DISTINCT ocpp_version FROM wattline.charge_points")
        assert [v["ocpp_version"] for v in versions] == [ocpp]
    report = ocpp_load.report(r, CHARGERS, RATE, SECONDS, ocpp).splitlines()
    (row,) = [line for line in report if "rows =" in line]
    assert [cell.strip() for cell in row.split("|")[2:5]] == ["800", "800", "yes"]
