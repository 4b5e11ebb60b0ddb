"""How the pages present their data: human column labels, times in the site's time zone with
the zone named, how fresh the data are, charts that read well with one bucket or a year, and
empty states that say what to do. Expected values are worked by hand (IST is UTC+05:30)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import polars as pl
import pytest
from dashboard_app import APP
from streamlit.testing.v1 import AppTest

from analytics import alerts
from dashboard import charts, freshness, labels
from sql import db
from wattline.settings import Settings

PAGES = ["overview.py", "chargers.py", "meter_health.py", "estimator.py", "reports.py", "alerts.py"]
RAW = set(labels.LABELS)  # every raw column name a query returns that a page may show


def wall(*fields: int) -> datetime:
    """A wall-clock time, with no zone: as a table and a chart axis show it."""
    return datetime(*fields, tzinfo=UTC).replace(tzinfo=None)


def _page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    if page != "overview.py":
        at.switch_page(f"app_pages/{page}").run()
    assert not at.exception, (page, at.exception)
    return at


def _words(at: AppTest) -> str:
    """What a reader sees outside tables: text, captions, notices and metrics."""
    parts = [e.value for kind in ("markdown", "caption", "info", "success", "warning")
             for e in getattr(at, kind)]  # fmt: skip
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


# --- helpers, without a database -----------------------------------------------------------


def test_a_table_gets_labels_with_units_and_site_times():
    df = pl.DataFrame(
        {
            "started_at": [datetime(2026, 3, 1, 10, 0, tzinfo=UTC), None],
            "energy_kwh": [1.5, None],
            "day": [datetime(2026, 3, 1, tzinfo=UTC)] * 2,
            "duration": [timedelta(hours=1, minutes=2, seconds=3), None],
            "some_new_thing": ["a", "b"],
            "end_source": ["connector_register", None],
        }
    )
    shown = labels.table(df, tz="Asia/Kolkata")
    assert shown.columns == [
        "Started (Asia/Kolkata)", "Energy (kWh)", "Day (UTC)", "Duration", "Some new thing",
        "Stop reading from",
    ]  # fmt: skip
    assert shown["Stop reading from"].to_list() == ["Latest register", None]
    # 10:00 UTC is 15:30 in India; the UTC day stays the date it counts.
    assert shown["Started (Asia/Kolkata)"].to_list() == [wall(2026, 3, 1, 15, 30), None]
    assert shown["Day (UTC)"].to_list() == [date(2026, 3, 1)] * 2
    assert shown["Duration"].to_list() == ["1:02:03", None]
    # A zone with summer time: 10:00 UTC on 1 July is 11:00 in London.
    july = pl.DataFrame({"time": [datetime(2026, 7, 1, 10, tzinfo=UTC)]})
    assert labels.table(july, tz="Europe/London").row(0) == (wall(2026, 7, 1, 11, 0),)


def test_one_time_as_text_in_the_zone():
    t = datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)
    assert labels.local(t, "Asia/Kolkata") == "2026-03-01 15:30:05"
    assert labels.local(None, "Asia/Kolkata") == "–"
    assert labels.zone_abbrev("Asia/Kolkata", t) == "IST"
    assert labels.zone_abbrev("Asia/Dubai", t) == "Asia/Dubai"  # no letters: "+04" says little


def test_freshness_names_the_newest_reading_in_the_zone_and_its_age():
    now = datetime(2026, 3, 1, 8, 32, 14, tzinfo=UTC)
    newest = datetime(2026, 3, 1, 8, 32, 11, tzinfo=UTC)
    assert freshness.as_of_text(newest, now, "Asia/Kolkata") == "Data as of 14:02:11 IST, 3 s ago"
    # Yesterday in India (23:59 IST on 28 Feb is 18:29 UTC): the date is shown too.
    old = datetime(2026, 2, 28, 18, 29, tzinfo=UTC)
    assert freshness.as_of_text(old, now, "Asia/Kolkata") == (
        "Data as of 2026-02-28 23:59:00 IST, 14 h 3 min ago"
    )
    assert freshness.as_of_text(None, now, "Asia/Kolkata") is None
    assert [freshness.age_text(s) for s in (0, 59, 60, 3599, 3600, 86399, 86400, 3 * 86400)] == [
        "0 s", "59 s", "1 min", "59 min", "1 h 0 min", "23 h 59 min", "1 day", "3 days",
    ]  # fmt: skip


def test_one_bucket_draws_one_bar_an_hour_wide_with_ticks_at_bucket_starts():
    df = pl.DataFrame(
        {"bucket": [datetime(2026, 3, 1, 10, tzinfo=UTC)], "connector_id": [1], "energy_kwh": [2.0]}
    )
    fig = charts.energy_bars(
        df, "bucket", "energy_kwh", "connector_id", "t", width=timedelta(hours=1), tz="Asia/Kolkata"
    )
    bar = fig.data[0]
    assert list(bar.x) == [wall(2026, 3, 1, 15, 30)]  # the start, in IST
    assert bar.width == 0.9 * 3_600_000
    axis = fig.layout.xaxis
    assert axis.title.text == "Time (Asia/Kolkata)" and axis.tickformat == "%d %b %H:%M"
    assert axis.dtick == 3_600_000 and axis.tick0 == wall(2026, 3, 1, 15, 30)
    assert list(axis.range) == [wall(2026, 3, 1, 15), wall(2026, 3, 1, 16)]
    assert fig.layout.yaxis.title.text == "Energy (kWh)"
    # The hover names the columns as people do, not as the query does.
    assert "bucket" not in bar.hovertemplate and "energy_kwh" not in bar.hovertemplate


def test_one_day_in_a_week_is_one_bar_among_the_seven_days_asked_for():
    df = pl.DataFrame(
        {
            "day": [datetime(2026, 3, 5, tzinfo=UTC)],
            "charge_point_id": ["CP-1"],
            "energy_kwh": [1.0],
        }
    )
    span = (datetime(2026, 2, 27, 12, tzinfo=UTC), datetime(2026, 3, 6, 12, tzinfo=UTC))
    fig = charts.energy_bars(
        df, "day", "energy_kwh", "charge_point_id", "t", width=timedelta(days=1), tz="UTC",
        span=span,
    )  # fmt: skip
    axis = fig.layout.xaxis
    # From half a day before the range's first day to its end: 7.5 days, so a tick a day.
    assert list(axis.range) == [wall(2026, 2, 27), wall(2026, 3, 6, 12)]
    assert axis.dtick == 86_400_000 and axis.tick0 == wall(2026, 3, 5)


def test_a_year_of_days_gets_day_ticks_and_no_tick_per_bucket():
    days = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=n) for n in range(365)]
    df = pl.DataFrame({"day": days, "charge_point_id": ["CP-1"] * 365, "energy_kwh": [1.0] * 365})
    fig = charts.energy_bars(
        df, "day", "energy_kwh", "charge_point_id", "t", width=timedelta(days=1), tz="UTC"
    )
    axis = fig.layout.xaxis
    assert axis.title.text == "Day (UTC)" and axis.tickformat == "%d %b %Y"
    assert axis.dtick is None  # Plotly spaces the ticks; the format keeps them whole days
    assert list(axis.range) == [wall(2024, 12, 31, 12), wall(2025, 12, 31, 12)]


def test_nothing_to_draw_is_no_chart():
    empty = pl.DataFrame(schema={"bucket": pl.Datetime("us", "UTC"), "connector_id": pl.Int64,
                                 "power_kw": pl.Float64})  # fmt: skip
    assert charts.power_lines(empty, width=timedelta(minutes=1), tz="UTC") is None


def test_the_site_zone_defaults_to_india_and_must_be_real():
    assert Settings.from_env({}).site_tz == "Asia/Kolkata"
    assert Settings.from_env({"WATTLINE_SITE_TZ": "Europe/Berlin"}).site_tz == "Europe/Berlin"
    with pytest.raises(SystemExit, match="WATTLINE_SITE_TZ"):
        Settings.from_env({"WATTLINE_SITE_TZ": "IST"})


# --- every page, against the seeded database ---------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_names_no_none_and_times_name_the_zone(dashboard_env, page):
    _open_alerts(dashboard_env)  # so the Alerts page has a table too
    at = _page(page)
    if page not in ("overview.py", "estimator.py"):  # these two show figures, not tables
        assert at.dataframe, page
    for table in at.dataframe:
        columns = list(table.value.columns)
        assert not RAW & set(columns), (page, columns)
        assert not [c for c in columns if "_" in c], (page, columns)
        assert table.proto.placeholder == "–"  # a missing value is a dash, not "None"
        for column in columns:
            if str(table.value[column].dtype).startswith("datetime"):
                assert column.endswith(("(Asia/Kolkata)", "(UTC)")), (page, column)
    assert not re.search(r"\bNone\b", _words(at)), page


@pytest.mark.parametrize("page", PAGES)
def test_every_page_says_how_fresh_its_data_are(dashboard_env, page):
    with db.connect(dashboard_env) as conn:
        # seed.sql's newest readings: CP-1#2's register 30 s ago, SOLAR-0001's just now.
        row = conn.execute(
            "SELECT (SELECT max(time) FROM wattline.meter_values"
            "         WHERE measurand = 'Energy.Active.Import.Register') AS charger,"
            "       (SELECT max(time) FROM wattline.register_readings) AS meter, now() AS now"
        ).fetchone()
    newest = row["charger"] if page == "chargers.py" else max(row["charger"], row["meter"])
    ist = newest + timedelta(hours=5, minutes=30)  # by hand: IST has no summer time
    at = _page(page)
    line = next(c.value for c in at.caption if "Data as of" in c.value)
    match = re.search(r"Data as of (\d\d:\d\d:\d\d) IST, (\d+) s ago", line)
    assert match, line
    assert match[1] == f"{ist:%H:%M:%S}"
    age = (row["now"] - newest).total_seconds()
    assert age - 1 <= int(match[2]) <= age + 15  # the page ran a few seconds after the query


def test_an_ocpp_message_at_ten_utc_shows_at_half_past_three_ist(dashboard_env, monkeypatch):
    ten = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(10), UTC)
    with db.connect(dashboard_env, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wattline.ocpp_messages (time, charge_point_id, direction, message_type,"
            " message_id, action, payload) VALUES (%s, 'CP-1', 'in', 2, 'm-10', 'Heartbeat', '{}')",
            (ten,),
        )
    at = _page("chargers.py")
    log = next(t.value for t in at.dataframe if "Message id" in t.value.columns)
    heartbeat = log[log["Message id"] == "m-10"].iloc[0]
    assert heartbeat["Time (Asia/Kolkata)"] == datetime.combine(ten.date(), time(15, 30))

    # Another site: the same instant, in its zone (UTC+09:00, no summer time) and named so.
    monkeypatch.setenv("WATTLINE_SITE_TZ", "Asia/Tokyo")
    at = _page("chargers.py")
    log = next(t.value for t in at.dataframe if "Message id" in t.value.columns)
    heartbeat = log[log["Message id"] == "m-10"].iloc[0]
    assert heartbeat["Time (Asia/Tokyo)"] == datetime.combine(ten.date(), time(19))


def test_the_chargers_page_shows_who_is_connected(dashboard_env):
    at = _page("chargers.py")
    captions = [c.value for c in at.caption]
    # Nobody holds a central-system connection in the test: both say so on their cards.
    assert sum("not connected" in c for c in captions) == 2
    summary = at.dataframe[0].value
    assert summary["Connected"].tolist() == [False]


def _open_alerts(url: str) -> None:
    with db.connect(url, autocommit=True) as conn:
        alerts.evaluate(conn, alerts.AlertConfig(thresholds={}))


def test_the_overview_points_at_open_alerts(dashboard_env):
    _open_alerts(dashboard_env)
    at = _page("overview.py")
    # By hand from seed.sql (as in test_alerts_page): 5 rules fire.
    assert {m.label: m.value for m in at.metric}["Open alerts"] == "5"
    assert any("5 open alert(s)" in w.value for w in at.warning)


# --- an empty database: every page says what to do -------------------------------------------


@pytest.fixture
def empty_env(db_url: str, monkeypatch: pytest.MonkeyPatch):
    import streamlit as st

    monkeypatch.setenv("DATABASE_URL", db_url)
    yield db_url
    st.cache_data.clear()
    st.cache_resource.clear()


EMPTY = {
    "overview.py": ["Nothing has connected yet", "No data yet"],
    "chargers.py": ["No charge points yet", "wattline simulate chargers"],
    "meter_health.py": ["No meters yet", "No prepayment meters yet", "No meter has reported"],
    "estimator.py": ["No meters yet", "No charging sessions in progress"],
    "reports.py": ["No charging energy in this range", "No sessions in this range",
                   "widen the dates", "No meter energy in this range"],
    "alerts.py": ["No open alerts", "No alert was resolved"],
}  # fmt: skip


@pytest.mark.parametrize("page", PAGES)
def test_an_empty_database_gets_what_to_do_not_empty_tables(empty_env, page):
    at = _page(page)
    words = _words(at)
    for needle in EMPTY[page]:
        assert needle in words, (page, needle, words)
    assert not at.dataframe and not at.get("plotly_chart"), page
    assert "No data yet: no charger readings yet" in words or page not in ("chargers.py",)
    assert not re.search(r"\bNone\b", words), page
