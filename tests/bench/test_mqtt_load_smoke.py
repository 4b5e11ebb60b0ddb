"""The MQTT load benchmark's core at a tiny size, against the test's own database: `wattline
mqtt` in a process of its own, the lean publisher in another, through the real Mosquitto, and
every reading the broker acknowledged found in the database exactly once. No timings are
asserted (the machine is shared)."""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is not an installed package (benchmarks run from the work tree with `python -m`).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import mqtt_load  # noqa: E402


def test_every_published_reading_lands_exactly_once(db_url):
    r = mqtt_load.measure(db_url, meters=50, rate=100, seconds=5, label="smoke", quiet=True)
    assert r.published_messages == r.published_readings == 500
    assert r.acked_messages == r.published_messages  # the broker took every one
    assert r.stored == r.published_readings
    assert r.rejects == 0
    assert r.ok
    assert r.rss_kb[0] and min(r.rss_kb[0]) > 0  # the subscriber's memory was sampled
    assert r.received_lag_ms is not None
    assert "| smoke " in mqtt_load.report([r])


def test_a_meters_backlog_in_one_message_lands_exactly_once(db_url):
    r = mqtt_load.measure(
        db_url, meters=20, rate=200, seconds=3, records_per_message=10, label="smoke", quiet=True
    )
    assert r.published_messages == 60
    assert r.published_readings == 600
    assert r.acked_messages == r.published_messages
    assert r.stored == r.published_readings
    assert r.rejects == 0
