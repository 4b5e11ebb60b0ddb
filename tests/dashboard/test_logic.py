"""The dashboard's plain modules, without Streamlit or a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import polars as pl
import pytest

from dashboard import auth, commands, data, ranges, sessions
from dashboard.config import DashboardConfig, reader_dsn


def test_charts_never_get_more_than_1000_points():
    for span in (timedelta(hours=1), timedelta(days=1), timedelta(days=30), timedelta(days=900)):
        assert span / data.bucket_for(span) <= data.MAX_POINTS
    assert data.bucket_for(timedelta(hours=24)) == timedelta(minutes=2)


def test_paging_and_downloads():
    assert data.page_count(0, 20) == 1 and data.page_count(41, 20) == 3
    df = pl.DataFrame({"kwh": [10.111], "duration": [timedelta(minutes=90)]})
    assert data.to_csv(df).decode() == "kwh,duration\n10.111,5400\n"
    assert pl.read_parquet(data.to_parquet(df)).equals(df)


def test_the_reader_dsn_uses_the_read_only_role():
    assert "user=wattline_reader" in reader_dsn("postgresql://app:pw@db:5432/wattline")
    assert "pw" not in reader_dsn("postgresql://app:pw@db:5432/wattline")
    config = DashboardConfig.from_env({"WATTLINE_READER_URL": "postgresql://r@x/y"})
    assert config.reader_url == "postgresql://r@x/y" and config.operator_password is None


def test_operator_password():
    assert not auth.commands_enabled(None) and not auth.check_password("", None)
    assert auth.check_password("s3cret", "s3cret") and not auth.check_password("s3cre", "s3cret")


def test_command_payloads():
    assert commands.payload("Start", connector_id=2, id_tag="TAG1") == {
        "connectorId": 2,
        "idTag": "TAG1",
    }
    assert commands.payload("Stop", transaction_id=7) == {"transactionId": 7}
    assert commands.payload("Reset", reset_type="Hard") == {"type": "Hard"}
    assert commands.payload("Unlock", connector_id=1) == {"connectorId": 1}
    assert commands.payload("Trigger", requested_message="MeterValues", connector_id=1) == {
        "requestedMessage": "MeterValues",
        "connectorId": 1,
    }
    with pytest.raises(ValueError, match="nothing is charging"):
        commands.payload("Stop")


def test_live_session_takes_the_reports_figures_and_prefers_the_chargers_soc():
    row = {
        "charge_point_id": "CP-1", "connector_id": 1, "transaction_id": 1, "id_tag": "TAG1",
        "duration": timedelta(hours=1, minutes=7), "soc_pct": None, "freshness": "good",
    }  # fmt: skip
    report = {
        "energy_kwh": D("10.111"), "cost": D("126.39"), "total": D("149.14"),
        "currency": "INR", "soc_change_pct": D("25.3"), "average_kw": D("9.05"),
    }  # fmt: skip
    s = sessions.live_session(row, report)
    assert (s.energy_kwh, s.cost, s.total, s.currency) == (
        D("10.111"),
        D("126.39"),
        D("149.14"),
        "INR",
    )
    assert (s.soc_pct, s.soc_source, s.duration) == (D("25.3"), "estimated", "1:07:00")
    charger = sessions.live_session(row | {"soc_pct": 55}, report)
    assert (charger.soc_pct, charger.soc_source) == (D("55"), "charger")
    # An open session the report has no row for yet shows dashes, not zeros.
    empty = sessions.live_session(row, None)
    assert (empty.energy_kwh, empty.total, empty.soc_source) == (None, None, "unknown")


def test_with_session_figures_fills_only_connectors_with_an_open_session():
    # As dash_connector_status gives them: the view's own figures between other columns.
    status = pl.DataFrame(
        {
            "connector_id": [1, 2],
            "transaction_id": [None, 7],
            "energy_since_start_kwh": [None, D("9.999")],
            "estimated_cost": [None, D("99.99")],
            "currency": [None, "XXX"],
            "freshness": ["never", "live"],
        }
    )
    report = pl.DataFrame(
        {
            "transaction_id": [7],
            "energy_kwh": [D("3.000")],
            "cost": [D("37.50")],
            "currency": ["INR"],
        }  # fmt: skip
    )
    out = sessions.with_session_figures(status, report)
    assert out["connector_id"].to_list() == [1, 2]
    assert out["energy_since_start_kwh"].to_list() == [None, D("3.000")]
    assert out["estimated_cost"].to_list() == [None, D("37.50")]
    assert out["currency"].to_list() == [None, "INR"]
    # The same columns in the same places: no join key left over, nothing moved.
    assert out.columns == status.columns


def test_with_session_figures_adds_the_figures_a_status_lacks():
    status = pl.DataFrame({"connector_id": [1], "transaction_id": [7]})
    report = pl.DataFrame(
        {
            "transaction_id": [7],
            "energy_kwh": [D("3.000")],
            "cost": [D("37.50")],
            "currency": ["INR"],
        }
    )
    out = sessions.with_session_figures(status, report)
    assert out.columns == [
        *("connector_id", "transaction_id"),
        *("energy_since_start_kwh", "estimated_cost", "currency"),
    ]
    assert out.row(0) == (1, 7, D("3.000"), D("37.50"), "INR")


def test_ranges():
    now = datetime(2024, 1, 27, 10, 0, tzinfo=UTC)
    assert ranges.preset_range("Last 24 hours", now) == (now - timedelta(days=1), now)
    lo, hi = ranges.days_range(date(2024, 1, 1), date(2024, 1, 2))
    assert (lo.isoformat(), hi.isoformat()) == (
        "2024-01-01T00:00:00+00:00",
        "2024-01-03T00:00:00+00:00",
    )
