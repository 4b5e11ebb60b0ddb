"""`wattline tariff set`, `report sessions`, `estimator` and `settle` against a real database.
The commands are built from cli_analytics.register alone, as cli.py builds them."""

from __future__ import annotations

import argparse
import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import polars as pl
import pytest

from wattline import cli_analytics
from wattline.settings import Settings


def wattline(db_url: str, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="wattline")
    cli_analytics.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args, Settings(database_url=db_url))


@pytest.fixture
def charger(conn):
    conn.execute("INSERT INTO wattline.charge_points (id) VALUES ('CP-1')")


def test_tariff_set_saves_bands_and_assigns_connectors(db_url, conn, charger):
    bands = '[{"from": "22:00", "to": "06:00", "energy_rate": 8}]'
    assert wattline(db_url, "tariff", "set", "NIGHT", "--rate", "12.50", "--bands", bands,
                    "--connector", "CP-1:1", "--connector", "CP-1:2") == 0  # fmt: skip
    row = conn.execute(
        "SELECT energy_rate, tax_rate, currency, bands FROM wattline.tariffs"
    ).fetchone()
    assert (row["energy_rate"], row["tax_rate"], row["currency"]) == (D("12.50"), D("0.18"), "INR")
    assert row["bands"] == [{"from": "22:00", "to": "06:00", "energy_rate": 8}]
    assigned = conn.execute("SELECT connector_id, tariff_id FROM wattline.connectors").fetchall()
    assert sorted((r["connector_id"], r["tariff_id"]) for r in assigned) == [
        (1, "NIGHT"),
        (2, "NIGHT"),
    ]
    # Setting it again updates, and takes the bands away when none are given.
    assert wattline(db_url, "tariff", "set", "NIGHT", "--rate", "9", "--currency", "EUR") == 0
    row = conn.execute("SELECT energy_rate, currency, bands FROM wattline.tariffs").fetchone()
    assert (row["energy_rate"], row["currency"], row["bands"]) == (D(9), "EUR", None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tariff", "set", "T", "--rate", "-1"], "--rate must be a number >= 0"),
        (["tariff", "set", "T", "--rate", "abc"], "--rate 'abc' is not a number"),
        (["tariff", "set", "T", "--rate", "1", "--currency", "rupees"], "3-letter code"),
        (["tariff", "set", "T", "--rate", "1", "--bands", "[{"], "--bands is not JSON"),
        (["tariff", "set", "T", "--rate", "1", "--bands", '[{"from": "25:00"}]'], "band 0"),
        (["tariff", "set", "T", "--rate", "1", "--connector", "CP-1"], "CHARGE_POINT:CONNECTOR"),
        (["tariff", "set", "T", "--rate", "1", "--connector", "NOPE:1"], "foreign key"),
        (["report", "sessions", "--from", "2024-01-01", "--to", "2024-02-01T00:00Z"], "time zone"),
        (["report", "sessions", "--from", "x", "--to", "2024-02-01T00:00Z"], "not an ISO-8601"),
        (
            ["report", "sessions", "--from", "2024-02-01T00:00Z", "--to", "2024-01-01T00:00Z"],
            "after --from",
        ),
        (
            [
                "report",
                "sessions",
                "--from",
                "2024-01-01T00:00Z",
                "--to",
                "2024-02-01T00:00Z",
                "--format",
                "parquet",
            ],
            "needs --output",
        ),  # fmt: skip
        (["estimator", "NOPE"], "no meter with serial 'NOPE'"),
        (
            ["settle", "NOPE", "--from", "2024-01-01T00:00Z", "--to", "2024-01-02T00:00Z"],
            "no meter",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_code_2(db_url, charger, capsys, argv, message):
    assert wattline(db_url, *argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.startswith("wattline ") and err.count("\n") == 1


def test_an_unknown_format_is_refused_by_the_parser(db_url, capsys):
    with pytest.raises(SystemExit) as exit_:
        wattline(db_url, "report", "sessions", "--from", "a", "--to", "b", "--format", "xlsx")
    assert exit_.value.code == 2
    assert "invalid choice: 'xlsx'" in capsys.readouterr().err


def test_report_sessions_writes_csv_and_parquet(db_url, conn, charger, tmp_path, capsys):
    conn.execute(
        "INSERT INTO wattline.tariffs (id, energy_rate) VALUES ('T1', 12.50);"
        "INSERT INTO wattline.connectors (charge_point_id, connector_id, tariff_id)"
        " VALUES ('CP-1', 1, 'T1');"
        "INSERT INTO wattline.transactions (charge_point_id, connector_id, meter_start_wh,"
        " started_at, meter_stop_wh, stopped_at)"
        " VALUES ('CP-1', 1, 5123, '2024-01-27 09:45Z', 15234, '2024-01-27 10:52Z'),"
        "        ('CP-1', 1, 0, '2024-03-01 09:00Z', 1000, '2024-03-01 10:00Z')"  # outside
    )
    window = ["--from", "2024-01-01T00:00Z", "--to", "2024-02-01T00:00+00:00"]
    assert wattline(db_url, "report", "sessions", *window) == 0
    csv = capsys.readouterr().out.splitlines()
    assert len(csv) == 2 and csv[0].startswith("transaction_id,")
    assert csv[1].split(",")[csv[0].split(",").index("total")] == "149.14"
    out = tmp_path / "sessions.parquet"
    assert wattline(db_url, "report", "sessions", *window, "--format", "parquet", "--output",
                    str(out)) == 0  # fmt: skip
    assert pl.read_parquet(out)["total"].to_list() == [D("149.14")]


METER = "00000000-0000-0000-0000-0000000000f1"


def _meter_with_readings(conn, start: datetime, minutes: int) -> None:
    """A prosumer meter exporting 3 Wh and importing 1 Wh a minute, at 180 W net export."""
    conn.execute(
        "INSERT INTO wattline.meter_registry (id, serial, kind) VALUES (%s, 'PRO-1', 'prosumer')",
        [METER],
    )
    conn.execute(
        "INSERT INTO wattline.meter_registers (meter_id, element) VALUES (%s, 'SINGLE')", [METER]
    )
    with conn.transaction():
        conn.execute("SELECT wattline.create_staging()")
        conn.execute(
            "INSERT INTO pg_temp.stage_register_readings (time, register_id, meter_id, element,"
            " import_wh, export_wh, import_w, export_w)"
            " SELECT %(start)s + n * interval '1 minute', register_id, meter_id, element,"
            "        1000 + n, 3 * n, 60, 240"
            "   FROM generate_series(0, %(n)s) n, wattline.meter_registers",
            {"start": start, "n": minutes},
        )
        conn.execute("SELECT wattline.merge_register_readings()")


def test_settle_one_meter_by_serial(db_url, conn, capsys):
    _meter_with_readings(conn, datetime(2024, 5, 1, 10, 0, tzinfo=UTC), 10)
    argv = ["settle", "PRO-1", "--from", "2024-05-01T10:00Z", "--to", "2024-05-01T10:10Z"]
    assert wattline(db_url, *argv) == 0
    assert "2 settlement period(s) written for PRO-1" in capsys.readouterr().out
    nets = conn.execute(
        "SELECT net_wh FROM wattline.settlement_periods ORDER BY period_start"
    ).fetchall()
    # 10:00 period: readings 10:01..10:04 carry 4 x (3 - 1) = 8 Wh; 10:05: 5 x 2 = 10 Wh.
    assert [r["net_wh"] for r in nets] == [8, 10]


def test_the_estimator_prints_every_field(db_url, conn, capsys):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    _meter_with_readings(conn, now - timedelta(minutes=20), 20)
    assert wattline(db_url, "estimator", "PRO-1") == 0
    fields = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert fields["period_minutes"] == "5"
    # 240 W export - 60 W import = 0.18 kW now and on average over the last 10 readings.
    assert (fields["current_power_kw"], fields["average_power_kw"]) == ("0.18", "0.18")
    assert set(fields) >= {
        "status",
        "running_tokens",
        "estimated_tokens",
        "progress_pct",
        "time_remaining",
        "period_start",
        "period_end",
        "net_energy_wh",
    }


def test_report_csv_cells_never_start_a_formula(db_url, conn, capsys):
    # Identities and id tags come from chargers: a spreadsheet must show them, not run them.
    evil_cp, evil_tag = '=HYPERLINK("http://x","y")', "@SUM(1+1)"
    conn.execute("INSERT INTO wattline.charge_points (id) VALUES (%s)", [evil_cp])
    conn.execute(
        "INSERT INTO wattline.transactions (charge_point_id, connector_id, id_tag,"
        " meter_start_wh, started_at, meter_stop_wh, stopped_at)"
        " VALUES (%s, 1, %s, 0, '2024-01-27 09:45Z', 1000, '2024-01-27 10:52Z')",
        [evil_cp, evil_tag],
    )
    window = ["--from", "2024-01-01T00:00Z", "--to", "2024-02-01T00:00Z"]
    assert wattline(db_url, "report", "sessions", *window) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert row["charge_point_id"] == "'" + evil_cp
    assert row["id_tag"] == "'" + evil_tag
    assert row["energy_kwh"] == "1.000"  # numbers untouched


def test_a_silent_meter_has_no_estimate(db_url, conn, capsys):
    # Issue 16, item 4: readings that stopped three hours ago say nothing about the current
    # power. The CLI, the dashboard and the API share analytics/estimator.estimate_recent, which
    # gives none; before, the CLI reported the 3-hour-old 0.18 kW as "current power".
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    _meter_with_readings(conn, now - timedelta(hours=3, minutes=20), 20)
    assert wattline(db_url, "estimator", "PRO-1") == 2
    assert "no readings from PRO-1 in the last 60 minutes" in capsys.readouterr().err
