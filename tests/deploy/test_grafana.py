"""The Grafana dashboards (deploy/grafana/dashboards/*.json): every panel's SQL, with Grafana's
macros substituted as Grafana does, runs as wattline_reader (the provisioned datasource's role)
against a migrated database holding the dashboard tests' seeded world, on both profiles; the
figures a user would read off the stat panels are the ones worked by hand from seed.sql."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import yaml

from sql import db, rollups

ROOT = Path(__file__).parents[2]
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
SEED = (ROOT / "tests/dashboard/seed.sql").read_text()
# Signal and clock samples for the seeded meters (seed.sql has their shadows only).
HEALTH = """
INSERT INTO wattline.meter_health (time, meter_id, csq, clock_time_diff_seconds) VALUES
    (now() - INTERVAL '2 hours', '00000000-0000-0000-0000-0000000000e1', 5, 125),
    (now() - INTERVAL '30 seconds', '00000000-0000-0000-0000-0000000000e3', 24, -2);
"""
TIME_FILTER = re.compile(r"\$__timeFilter\(([^)]+)\)")


def _panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out += [panel, *panel.get("panels", [])]  # rows may nest panels
    return out


def _sql(raw: str, lo: datetime, hi: datetime, interval: str = "5m") -> str:
    """What Grafana's PostgreSQL datasource sends for the macros these panels use."""
    sql = TIME_FILTER.sub(
        lambda m: f"{m.group(1)} BETWEEN '{lo.isoformat()}' AND '{hi.isoformat()}'", raw
    )
    sql = sql.replace("$__interval", interval)
    assert "$" not in sql, f"a macro or variable the test does not substitute: {sql}"
    return sql


def _as_reader(db_url: str) -> psycopg.Connection:
    params = psycopg.conninfo.conninfo_to_dict(db_url)
    params["user"] = "wattline_reader"
    return psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True)


def test_dashboards_are_provisionable():
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/wattline.yml").read_text()
    )["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    datasource_uids = {
        d["uid"]
        for d in yaml.safe_load(
            (ROOT / "deploy/grafana/provisioning/datasources/wattline.yml").read_text()
        )["datasources"]
    }
    assert [p.name for p in DASHBOARDS] == ["fleet-energy.json", "meter-health.json"]
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        uids.add(dashboard["uid"])
        ids = [p["id"] for p in _panels(dashboard)]
        assert len(ids) == len(set(ids)), path.name
        for panel in _panels(dashboard):
            assert panel["datasource"]["uid"] in datasource_uids, (path.name, panel["title"])
            for target in panel["targets"]:
                assert target["rawQuery"] and target["rawSql"].strip(), panel["title"]
    assert len(uids) == len(DASHBOARDS)


@pytest.fixture
def figures(db_url: str) -> dict[tuple[str, str], list[dict]]:
    """Every panel's rows, keyed by (dashboard uid, panel title), read as wattline_reader."""
    with db.connect(db_url, autocommit=True) as conn:
        conn.execute(SEED)
        conn.execute(HEALTH)
        rollups.refresh(conn)
    hi = datetime.now(UTC)
    lo = hi - timedelta(days=7)
    found = {}
    with _as_reader(db_url) as reader, reader.cursor(row_factory=psycopg.rows.dict_row) as cur:
        for path in DASHBOARDS:
            dashboard = json.loads(path.read_text())
            for panel in _panels(dashboard):
                for target in panel["targets"]:
                    rows = cur.execute(_sql(target["rawSql"], lo, hi)).fetchall()
                    found[dashboard["uid"], panel["title"]] = rows
    return found


def test_every_panel_query_runs_as_the_reader_and_shows_the_seeded_figures(figures):
    fleet = {t: rows for (uid, t), rows in figures.items() if uid == "wattline-fleet-energy"}
    health = {t: rows for (uid, t), rows in figures.items() if uid == "wattline-meter-health"}
    assert len(fleet) == 8 and len(health) == 10
    # CP-1 connector 1: 11 deltas of 842.583 Wh = 9268.413 Wh; connector 2: 3000 Wh so far.
    assert fleet["Charging energy in range"] == [{"charging kWh": Decimal("12.268")}]
    # SOLAR-0001 exports 71.667 Wh a minute for 60 minutes and imports nothing.
    assert fleet["Metered export in range"] == [{"export kWh": Decimal("4.300")}]
    assert fleet["Metered import in range"] == [{"import kWh": Decimal("0.000")}]
    assert fleet["Sessions started in range"] == [{"sessions": 2}]
    hourly = fleet["Charging energy per hour"]
    assert sum(r["charging kWh"] for r in hourly) == Decimal("12.268413")
    assert [r["time"] for r in hourly] == sorted(r["time"] for r in hourly)
    daily = fleet["Charging energy per day and charge point"]
    assert {r["charge_point_id"] for r in daily} == {"CP-1"}
    assert sum(r["kwh"] for r in daily) == Decimal("12.268413")
    assert sum(r["readings"] for r in daily) == 14
    per_meter = fleet["Metered energy per day and meter"]
    export = sum(r["export_kwh"] for r in per_meter if r["serial"] == "SOLAR-0001")
    assert export == Decimal("4.30002")  # 60 x 71.667 Wh

    assert health["Low balance"] == [{"meters": 1}]
    assert health["Offline"] == [{"meters": 1}]  # LOW-0001, quiet for 2 h
    assert health["Poor signal now"] == [{"meters": 1}]  # LOW-0001's CSQ 5 < 10
    assert health["Clock drift flagged now"] == [{"meters": 1}]  # its 125 s > 60 s
    (low,) = health["Low balance and days to empty"]
    assert (low["serial"], low["balance"]) == ("LOW-0001", Decimal("4.37"))
    # 16.12 -> 4.37 over 47 h: 11.75 / (47 / 24) = 6.00 a day; 4.37 / 6.00 = 0.7 days.
    assert (low["burn_per_day"], low["days_until_empty"]) == (Decimal("6.00"), Decimal("0.7"))
    assert [r["serial"] for r in health["Offline meters"]] == ["LOW-0001"]
    csq = health["Signal (CSQ) across the fleet"]
    assert sorted(r["lowest CSQ"] for r in csq) == [5, 24]
    drift = health["Clock drift across the fleet"]
    assert sorted(r["largest drift s"] for r in drift) == [2, 125]
    assert sum(r["meters over 60 s"] for r in drift) == 1
    per_meter_health = {r["serial"]: r for r in health["Signal and drift per meter (last 24 h)"]}
    assert per_meter_health["LOW-0001"]["csq_poor_now"] is True
    assert per_meter_health["SOLAR-0001"]["latest_drift_s"] == -2
    assert health["Open alerts"] == []  # no alerts job has run on this database
