import json
from datetime import UTC, datetime, timedelta

from ingest.mqtt import payloads
from ingest.mqtt.fleet import (
    TARIFF,
    PrepayMeter,
    ProsumerMeter,
    household_w,
    make_fleet,
    solar_w,
)

NOON = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2024, 6, 1, 0, 0, tzinfo=UTC)


class Calm:
    """A random source that never tops up, never goes offline and never wanders."""

    def random(self):
        return 0.99

    def choice(self, seq):
        return 0

    def gauss(self, mu, sigma):
        return mu

    def uniform(self, a, b):
        return b


def test_solar_peaks_at_noon_and_is_dark_at_night():
    assert solar_w(NOON, 4000) == 4000
    assert solar_w(MIDNIGHT, 4000) == 0
    assert household_w(NOON.replace(hour=19)) > household_w(NOON.replace(hour=3))


def test_a_prepay_balance_drains_by_energy_times_rate_plus_standing_charge():
    meter = PrepayMeter("P1", Calm(), balance=20.0)
    meter.step(NOON, 3600)
    wh = household_w(NOON)
    cost = wh / 1000 * TARIFF["unit_rate_element_a"] + TARIFF["standing_charge"] / 24
    assert round(meter.import_wh["SINGLE"], 6) == round(wh, 6)
    assert round(meter.balance, 6) == round(20.0 - cost, 6)


def test_a_dual_rate_meter_uses_element_b_at_night():
    meter = PrepayMeter("P2", Calm(), dual_rate=True)
    meter.step(MIDNIGHT, 600)
    meter.step(NOON, 600)
    assert set(meter.import_wh) == {"A", "B"}
    messages = dict(meter.step(NOON + timedelta(minutes=10), 600))
    assert [r["element"] for r in messages["reading"]] == ["A", "B"]


def test_a_balance_below_zero_stops_at_the_emergency_credit():
    meter = PrepayMeter("P3", Calm(), balance=-14.99)
    meter.step(NOON, 3600)
    assert meter.balance == -TARIFF["prepayment_emergency_credit"]


def test_a_prosumer_exports_at_noon_and_imports_at_night():
    meter = ProsumerMeter("S1", Calm(), peak_solar_w=5000)
    meter.step(NOON, 3600)
    assert meter.export_wh["SINGLE"] > 0 and meter.import_wh.get("SINGLE", 0) == 0
    meter.step(MIDNIGHT + timedelta(days=1), 3600)
    assert meter.import_wh["SINGLE"] > 0


def test_every_simulated_message_passes_validation():
    fleet = make_fleet(12, seed=7)
    assert {type(m) for m in fleet} == {PrepayMeter, ProsumerMeter}
    start = datetime.now(UTC)
    messages = [m.tariff_message(start) for m in fleet if isinstance(m, PrepayMeter)]
    for hour in range(1, 200):  # long enough for balances to run low and be topped up
        for meter in fleet:
            messages += meter.step(start + timedelta(hours=hour), 3600)
    for kind, payload in messages:
        p = payloads.parse(kind, json.dumps(payload).encode(), start, timedelta(days=9))
        assert p.errors == [], (kind, payload)
    assert {kind for kind, _ in messages} == {"tariff", "reading", "health", "balance", "event"}
