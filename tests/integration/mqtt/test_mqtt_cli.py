"""`wattline mqtt` and `wattline simulate meters` as separate processes, as operators run them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from mqtt_support import eventually


def _env(mqtt_config, db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "MQTT_URL": "mqtt://127.0.0.1:1883",
        "WATTLINE_MQTT_TOPIC_PREFIX": mqtt_config.topic_prefix,
        "WATTLINE_MQTT_CLIENT_ID": mqtt_config.client_id,
        "WATTLINE_ALLOW_UNKNOWN_METERS": "true",  # the simulated fleet is not registered
    }


async def test_the_simulated_fleet_is_ingested_by_the_command(mqtt_config, db_url, query):
    env = _env(mqtt_config, db_url)
    wattline = [sys.executable, "-m", "wattline.cli"]
    ingest = subprocess.Popen([*wattline, "mqtt"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        # Wait for the subscription (a persistent session) before publishing.
        for line in ingest.stderr:
            if "subscribed to" in line:
                break
        simulate = [*wattline, "simulate", "meters", "--count", "6", "--interval", "0.2"]
        subprocess.run([*simulate, "--steps", "3", "--serial-prefix", "CLI"], env=env, check=True)
        meters = "SELECT count(*) FROM meter_shadows WHERE last_seen_at IS NOT NULL"
        await eventually(lambda: query(meters) == [(6,)], timeout=15)
        # Four prepayment meters (two dual-rate) publish balances; every meter has readings.
        balances = "SELECT count(DISTINCT meter_id) FROM meter_prepay_balance"
        await eventually(lambda: query(balances) == [(4,)])
        elements = "SELECT element, count(DISTINCT register_id) FROM meter_registers GROUP BY 1"
        assert dict(query(elements)) == {"SINGLE": 4, "A": 2, "B": 2}
        assert query("SELECT count(*) FROM ingest_rejects") == [(0,)]
    finally:
        ingest.send_signal(signal.SIGTERM)
        assert ingest.wait(20) == 0
