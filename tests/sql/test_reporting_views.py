"""The reporting views on fixed data, each figure worked by hand (docs/architecture.md,
"Definitions")."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

SEED = """
INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate)
VALUES ('T1', 'INR', 12.50, 0.18);
INSERT INTO wattline.charge_points (id, vendor) VALUES ('CP-1', 'ACME'), ('CP-2', 'ACME');
INSERT INTO wattline.connectors (charge_point_id, connector_id, tariff_id, max_power_kw,
                                 last_meter_wh, last_meter_at) VALUES
    ('CP-1', 1, 'T1', 22, 15234, now() - interval '3 minutes'),
    ('CP-1', 2, 'T1', 22, 12000, now() - interval '30 seconds'),
    ('CP-2', 1, 'T1', 22, NULL, NULL);
INSERT INTO wattline.id_tags (id_tag) VALUES ('TAG1'), ('TAG2');
INSERT INTO wattline.vehicles (id_tag, battery_kwh) VALUES ('TAG2', 40);
INSERT INTO wattline.transactions
       (id, charge_point_id, connector_id, id_tag, meter_start_wh, started_at,
        meter_stop_wh, stopped_at, manual_meter_stop_wh) OVERRIDING SYSTEM VALUE VALUES
    (1, 'CP-1', 1, 'TAG1', 5123, '2024-01-27 09:45+00', 15234, '2024-01-27 10:52+00', NULL),
    (2, 'CP-1', 1, 'TAG2', 0, '2024-01-28 10:00+00', 15545, '2024-01-28 11:15+00', NULL),
    (3, 'CP-1', 2, 'TAG1', 4000, now() - interval '1 hour', NULL, NULL, NULL),
    (4, 'CP-2', 1, 'TAG1', 5000, '2024-01-29 08:00+00', NULL, '2024-01-29 09:00+00', 7000),
    (5, 'CP-2', 1, 'TAG1', 5000, '2024-01-30 08:00+00', NULL, '2024-01-30 09:00+00', NULL);
INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, transaction_id, unit, value)
VALUES (now() - interval '50 minutes', 'CP-1', 2, 3, 'Wh', 9000),
       (now() - interval '30 seconds', 'CP-1', 2, 3, 'Wh', 12000),
       -- after transaction 4 stopped: not its end register
       ('2024-01-29 09:30+00', 'CP-2', 1, NULL, 'Wh', 9999);
INSERT INTO wattline.status_notifications (time, charge_point_id, connector_id, status, error_code)
VALUES ('2024-01-27 08:00+00', 'CP-2', 1, 'Faulted', 'GroundFailure'),
       ('2024-01-27 09:00+00', 'CP-2', 1, 'Available', 'NoError');
INSERT INTO wattline.meter_registry (id, serial, kind) VALUES
    ('00000000-0000-0000-0000-0000000000e1', 'LOW', 'prepay'),
    ('00000000-0000-0000-0000-0000000000e2', 'EDGE', 'prepay'),
    ('00000000-0000-0000-0000-0000000000e3', 'SOLAR', 'prosumer'),
    ('00000000-0000-0000-0000-0000000000e4', 'SILENT', 'prepay');
INSERT INTO wattline.meter_shadows (id, balance, last_seen_at, tariffs_active, tariffs_future)
VALUES ('00000000-0000-0000-0000-0000000000e1', 4.99, now() - interval '2 hours',
        '{"standing_charge": 0.5868, "unit_rate_element_a": 0.2843}',
        '{"unit_rate_element_a": 0.3000, "activation_datetime": "2024-10-01T00:00:00Z"}'),
       ('00000000-0000-0000-0000-0000000000e2', 5.00, now() - interval '10 minutes', NULL, NULL),
       ('00000000-0000-0000-0000-0000000000e3', 1.00, now() - interval '10 minutes', NULL, NULL);
"""


@pytest.fixture
def seeded(conn):
    conn.execute(SEED)
    return conn


def _session(conn, transaction_id: int) -> dict:
    return conn.execute(
        "SELECT * FROM session_report WHERE transaction_id = %s", [transaction_id]
    ).fetchone()


def test_the_seed_session_costs_149_14(seeded):
    r = _session(seeded, 1)
    # 15.234 - 5.123 = 10.111 kWh; x 12.50 = 126.3875 -> 126.39; tax 22.7502 -> 22.75.
    assert (r["end_source"], r["energy_kwh"]) == ("meter_stop", D("10.111"))
    assert (r["cost"], r["tax"], r["total"], r["currency"]) == (
        D("126.39"),
        D("22.75"),
        D("149.14"),
        "INR",
    )
    assert r["soc_change_pct"] is None  # TAG1 has no vehicle


def test_soc_range_speed_and_efficiency(seeded):
    r = _session(seeded, 2)
    # 15.545 kWh into 40 kWh: 38.9 %, 69.95 -> 70 km; over 1.25 h: 12.44 kW; /22 kW: 56.5 %.
    assert (r["energy_kwh"], r["soc_change_pct"], r["range_added_km"]) == (
        D("15.545"),
        D("38.9"),
        70,
    )
    assert (r["average_kw"], r["efficiency_pct"]) == (D("12.44"), D("56.5"))
    # 194.3125 -> 194.31; tax 34.9758 -> 34.98; total 229.29
    assert (r["cost"], r["tax"], r["total"]) == (D("194.31"), D("34.98"), D("229.29"))


@pytest.mark.parametrize(
    ("transaction_id", "source", "end_wh", "kwh"),
    [
        (3, "connector_register", 12000, D("8.000")),  # open: latest register in the session
        (4, "manual", 7000, D("2.000")),  # the 9999 Wh reading came after the stop
        (5, "none", None, None),
    ],
)
def test_each_end_register_source(seeded, transaction_id, source, end_wh, kwh):
    r = _session(seeded, transaction_id)
    assert (r["end_source"], r["meter_end_wh"], r["energy_kwh"]) == (source, end_wh, kwh)


def test_connector_meter_status_freshness_and_live_session(seeded):
    rows = {
        (r["charge_point_id"], r["connector_id"]): r
        for r in seeded.execute("SELECT * FROM connector_meter_status")
    }
    assert rows[("CP-1", 1)]["freshness"] == "warning"  # 3 minutes old
    assert rows[("CP-1", 1)]["meter_kwh"] == D("15.234")
    assert rows[("CP-1", 1)]["transaction_id"] is None  # its sessions are closed
    live = rows[("CP-1", 2)]
    assert live["freshness"] == "good"
    # 12000 - 4000 = 8.000 kWh at 12.50 = 100.00
    assert (live["transaction_id"], live["energy_since_start_kwh"]) == (3, D("8.000"))
    assert live["estimated_cost"] == D("100.00")
    assert rows[("CP-2", 1)]["freshness"] == "never"


def test_charger_summary(seeded):
    rows = {r["charge_point_id"]: r for r in seeded.execute("SELECT * FROM charger_summary")}
    # CP-1: 10.111 + 15.545 + 8.000 kWh over 3 sessions; CP-2: 2.000 over 2 (one unknown).
    assert (rows["CP-1"]["sessions"], rows["CP-1"]["energy_kwh"]) == (3, D("33.656"))
    assert (rows["CP-2"]["sessions"], rows["CP-2"]["energy_kwh"]) == (2, D("2.000"))
    assert rows["CP-2"]["last_error_code"] == "GroundFailure"
    assert rows["CP-1"]["last_error_code"] is None


def test_low_balance_and_its_threshold(seeded):
    low = [r["serial"] for r in seeded.execute("SELECT serial FROM meters_low_balance")]
    assert low == ["LOW"]  # 5.00 is not below 5.00; the prosumer meter is not prepay
    seeded.execute("SET wattline.low_balance_threshold = '10'")
    low = sorted(r["serial"] for r in seeded.execute("SELECT serial FROM meters_low_balance"))
    assert low == ["EDGE", "LOW"]


def test_offline_meters(seeded):
    offline = sorted(
        r["serial"] for r in seeded.execute("SELECT serial FROM meters_offline_recently")
    )
    assert offline == ["LOW", "SILENT"]  # 2 hours silent, and never heard


def test_meter_shadows_tariffs_spells_out_the_tariff_fields(seeded):
    r = seeded.execute(
        "SELECT active_standing_charge, active_unit_rate_a, future_unit_rate_a,"
        " future_activation_datetime::text FROM meter_shadows_tariffs WHERE serial = 'LOW'"
    ).fetchone()
    assert list(r.values()) == [D("0.5868"), D("0.2843"), D("0.3000"), "2024-10-01 00:00:00+00"]
