"""The Polars session report on the real database: it equals the `session_report` view for
flat-rate sessions, and splits a time-of-use session by hand-checked bands."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from analytics import session_report_job

SEED = """
INSERT INTO wattline.tariffs (id, currency, energy_rate, tax_rate, bands) VALUES
    ('FLAT', 'INR', 12.50, 0.18, NULL),
    ('TOU', 'INR', 12.50, 0.18, '[{"from": "22:00", "to": "06:00", "energy_rate": 8.05}]');
INSERT INTO wattline.charge_points (id, timezone) VALUES
    ('CP-A', 'UTC'), ('CP-K', 'Asia/Kolkata');
INSERT INTO wattline.connectors (charge_point_id, connector_id, tariff_id, max_power_kw) VALUES
    ('CP-A', 1, 'FLAT', 22), ('CP-A', 2, 'FLAT', 22), ('CP-A', 3, 'FLAT', 22),
    ('CP-A', 4, NULL, NULL),
    ('CP-K', 1, 'TOU', 22);
INSERT INTO wattline.id_tags (id_tag) VALUES ('TAG1'), ('TAG2');
INSERT INTO wattline.vehicles (id_tag, battery_kwh) VALUES ('TAG2', 40);
INSERT INTO wattline.transactions
       (id, charge_point_id, connector_id, id_tag, meter_start_wh, started_at,
        meter_stop_wh, stopped_at, manual_meter_stop_wh) OVERRIDING SYSTEM VALUE VALUES
    (1, 'CP-A', 1, 'TAG1', 5123, '2024-01-27 09:45+00', 15234, '2024-01-27 10:52+00', NULL),
    (2, 'CP-A', 1, 'TAG2', 0, '2024-01-28 10:00+00', 15545, '2024-01-28 11:15+00', NULL),
    (3, 'CP-A', 2, 'TAG1', 4000, '2024-01-28 12:00+00', NULL, NULL, NULL),
    (4, 'CP-A', 3, 'TAG1', 5000, '2024-01-29 08:00+00', NULL, '2024-01-29 09:00+00', 7000),
    (5, 'CP-A', 4, 'TAG1', 5000, '2024-01-30 08:00+00', NULL, '2024-01-30 09:00+00', NULL),
    (6, 'CP-K', 1, 'TAG1', 1000, '2024-01-30 16:00+00', 12000, '2024-01-30 17:30+00', NULL);
INSERT INTO wattline.meter_values (time, charge_point_id, connector_id, transaction_id, unit, value)
VALUES ('2024-01-28 12:10+00', 'CP-A', 2, 3, 'Wh', 9000),
       ('2024-01-28 12:40+00', 'CP-A', 2, 3, 'Wh', 12000),
       ('2024-01-29 09:30+00', 'CP-A', 3, NULL, 'Wh', 9999),  -- after transaction 4 stopped
       -- Transaction 6 in Kolkata (UTC+05:30): 21:45, 22:00, 22:30 and 23:00 local.
       ('2024-01-30 16:15+00', 'CP-K', 1, 6, 'Wh', 3001),
       ('2024-01-30 16:30+00', 'CP-K', 1, 6, 'Wh', 5000),
       ('2024-01-30 17:00+00', 'CP-K', 1, 6, 'Wh', 9500),
       ('2024-01-30 17:30+00', 'CP-K', 1, 6, 'Wh', 12000);  -- meterStop, stored as a reading too
"""

WINDOW = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))


@pytest.fixture
def report(conn):
    conn.execute(SEED)
    frame = session_report_job.sessions(conn, *WINDOW)
    return {r["transaction_id"]: r for r in frame.iter_rows(named=True)}


def test_the_seed_session_costs_149_14(report):
    r = report[1]
    # 15.234 - 5.123 = 10.111 kWh; x 12.50 = 126.3875 -> 126.39; x 0.18 = 22.7502 -> 22.75.
    assert (r["end_source"], r["energy_kwh"]) == ("meter_stop", D("10.111"))
    assert (r["cost"], r["tax"], r["total"]) == (D("126.39"), D("22.75"), D("149.14"))
    # 15.545 kWh into 40 kWh: 38.9 %, ~70 km; in 1.25 h: 12.44 kW, of 22 kW: 56.5 %.
    r = report[2]
    assert (r["soc_change_pct"], r["range_added_km"]) == (D("38.9"), 70)
    assert (r["average_kw"], r["efficiency_pct"]) == (D("12.44"), D("56.5"))


@pytest.mark.parametrize(
    ("transaction_id", "source", "kwh"),
    [
        (1, "meter_stop", D("10.111")),
        (3, "connector_register", D("8.000")),  # 12000 - 4000, open session
        (4, "manual", D("2.000")),  # 7000 - 5000; the 9999 came after the stop
        (5, "none", None),
    ],
)
def test_each_end_register_source(report, transaction_id, source, kwh):
    assert (report[transaction_id]["end_source"], report[transaction_id]["energy_kwh"]) == (
        source,
        kwh,
    )


def test_polars_equals_the_sql_view_for_flat_rate_sessions(conn, report):
    sql = {r["transaction_id"]: r for r in conn.execute("SELECT * FROM session_report")}
    flat = [t for t, r in report.items() if not r["time_of_use"]]
    assert flat == [1, 2, 3, 4, 5]
    for t in flat:
        polars_row = {k: v for k, v in report[t].items() if k != "time_of_use"}
        assert polars_row == {k: sql[t][k] for k in polars_row}, t


def test_a_time_of_use_session_is_split_by_the_later_reading(report):
    r = report[6]
    # Links (local time, register): 21:30 1000, 21:45 3001, 22:00 5000, 22:30 9500, 23:00 12000.
    # 21:45: 2001 Wh at the day rate 12.50 = 25.0125
    # 22:00 (a band starts at its "from"), 22:30, 23:00: 1999 + 4500 + 2500 = 8999 Wh at 8.05
    #   = 72.44195
    # cost = 97.45445 -> 97.45; tax 97.45 x 0.18 = 17.541 -> 17.54; total 114.99.
    # Energy is still end - start: 12000 - 1000 = 11.000 kWh.
    assert r["time_of_use"] is True
    assert (r["energy_kwh"], r["cost"], r["tax"], r["total"]) == (
        D("11.000"),
        D("97.45"),
        D("17.54"),
        D("114.99"),
    )


def test_csv_and_parquet_carry_every_session(report, conn, tmp_path):
    frame = session_report_job.sessions(conn, *WINDOW)
    session_report_job.write(frame, "parquet", tmp_path / "s.parquet")
    session_report_job.write(frame, "csv", tmp_path / "s.csv")
    import polars as pl

    assert pl.read_parquet(tmp_path / "s.parquet")["transaction_id"].to_list() == [1, 2, 3, 4, 5, 6]
    assert pl.read_csv(tmp_path / "s.csv")["total"].to_list()[0] == 149.14
