"""Issue 16 item 5: meterStart is stored as a main-register reading at the session's start, and
must not count as the connector's end register. An open session with no MeterValues falls
through to the manual reading (or to none), in the view and in the Polars report alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from analytics import session_report_job

SEED = """
INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate)
VALUES ('T1', 'INR', 12.50, 0.18);
INSERT INTO wattline.charge_points (id) VALUES ('CP-1');
INSERT INTO wattline.connectors (charge_point_id, connector_id, tariff_id) VALUES
    ('CP-1', 1, 'T1'), ('CP-1', 2, 'T1'), ('CP-1', 3, 'T1');
INSERT INTO wattline.transactions
       (id, charge_point_id, connector_id, meter_start_wh, started_at, manual_meter_stop_wh)
       OVERRIDING SYSTEM VALUE VALUES
    (1, 'CP-1', 1, 5123, '2024-01-27 09:45+00', 15234),  -- no MeterValues, a manual reading
    (2, 'CP-1', 2, 5123, '2024-01-27 09:45+00', NULL),   -- no MeterValues, nothing else
    (3, 'CP-1', 3, 5123, '2024-01-27 09:45+00', 99999);  -- MeterValues win over manual
-- meterStart as ingest stores it: a reading at the start time (context Transaction.Begin).
INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, transaction_id, unit,
                                   value, context) VALUES
    ('2024-01-27 09:45+00', 'CP-1', 1, 1, 'Wh', 5123, 'Transaction.Begin'),
    ('2024-01-27 09:45+00', 'CP-1', 2, 2, 'Wh', 5123, 'Transaction.Begin'),
    ('2024-01-27 09:45+00', 'CP-1', 3, 3, 'Wh', 5123, 'Transaction.Begin'),
    ('2024-01-27 10:52+00', 'CP-1', 3, 3, 'Wh', 15234, 'Sample.Periodic');
"""
WINDOW = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
# (end_source, meter_end_wh, energy_kwh): 15234 - 5123 = 10111 Wh = 10.111 kWh.
EXPECTED = {
    1: ("manual", D(15234), D("10.111")),
    2: ("none", None, None),
    3: ("connector_register", D(15234), D("10.111")),
}


def test_meter_start_is_not_the_connectors_end_register(conn):
    conn.execute(SEED)
    view = {
        r["transaction_id"]: (r["end_source"], r["meter_end_wh"], r["energy_kwh"])
        for r in conn.execute("SELECT * FROM session_report ORDER BY transaction_id")
    }
    report = {
        r["transaction_id"]: (r["end_source"], r["meter_end_wh"], r["energy_kwh"])
        for r in session_report_job.sessions(conn, *WINDOW).iter_rows(named=True)
    }
    assert view == EXPECTED
    assert report == EXPECTED
