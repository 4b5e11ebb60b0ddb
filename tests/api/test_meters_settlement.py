"""Meters, settlement and real-time energy over real HTTP (seed 003), and `self` isolation:
account A never reads account B's meter, by id, by filter or through the estimator default."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from api_support import ROOT, hs256, problem

from sql import db, rollups

V1 = "/api/v1"
A1, A2, B1 = (f"00000000-0000-0000-0000-0000000000a{i}" for i in (1, 2, 3))
PRE1, PRE2 = "00000000-0000-0000-0000-0000000000b1", "00000000-0000-0000-0000-0000000000b2"
MINUTES = 20  # A1 and B1 report once a minute for the last 20 minutes

SEED = """
INSERT INTO wattline.accounts (id) VALUES ('acct-a'), ('acct-b');
-- B1 is the oldest meter of all: an estimator default that forgot the account would pick it.
INSERT INTO wattline.meter_registry (id, serial, kind, account_id, created_at) VALUES
    (%(a1)s, 'PRO-A1', 'prosumer', 'acct-a', now() - interval '2 days'),
    (%(a2)s, 'PRO-A2', 'prosumer', 'acct-a', now() - interval '1 day'),
    (%(b1)s, 'PRO-B1', 'prosumer', 'acct-b', now() - interval '3 days'),
    (%(p1)s, 'PRE-1', 'prepay', NULL, now()),
    (%(p2)s, 'PRE-2', 'prepay', NULL, now());
INSERT INTO wattline.meter_shadows (id, balance, csq, health, last_seen_at, tariffs_active) VALUES
    (%(a1)s, NULL, 20, 'healthy', now(), NULL),
    (%(a2)s, NULL, 20, 'healthy', now() - interval '3 hours', NULL),
    (%(b1)s, NULL, 20, 'healthy', now(), NULL),
    (%(p1)s, 4.99, 5, 'healthy', now() - interval '2 hours',
     '{"standing_charge": 0.5868, "unit_rate_element_a": 0.2843}'),
    (%(p2)s, 20.00, 25, 'healthy', now(), NULL);
INSERT INTO wattline.meter_registers (meter_id, element)
SELECT id, 'SINGLE' FROM wattline.meter_registry;
INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance) VALUES
    ('2024-03-01 08:00+00', %(p1)s, 10.00), ('2024-03-01 20:00+00', %(p1)s, 8.00),
    ('2024-03-02 09:00+00', %(p1)s, 7.00), ('2024-03-02 10:00+00', %(p1)s, 6.00),
    ('2024-03-03 12:00+00', %(p1)s, 4.99);
"""

READINGS = """
INSERT INTO pg_temp.stage_register_readings (time, register_id, meter_id, element, import_wh,
                                             export_wh, import_w, export_w)
SELECT %(start)s + n * interval '1 minute', g.register_id, g.meter_id, g.element,
       1000 + %(imp)s * n, %(exp)s * n, %(imp_w)s, %(exp_w)s
  FROM generate_series(0, %(n)s) n, wattline.meter_registers g
 WHERE g.meter_id = %(meter)s
"""


def reading_times(start: datetime) -> list[datetime]:
    return [start + timedelta(minutes=n) for n in range(MINUTES + 1)]


@pytest.fixture(scope="module")
def seeded(api):
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=MINUTES)
    ids = {"a1": A1, "a2": A2, "b1": B1, "p1": PRE1, "p2": PRE2}
    with db.connect(api.db_url, autocommit=True) as conn:
        for statement in filter(str.strip, SEED.split(";\n")):  # one at a time: parameters
            conn.execute(statement, ids)
        with conn.transaction():
            conn.execute("SELECT wattline.create_staging()")
            # A1: +1 Wh import and +3 Wh export a minute at 60 W / 240 W: 180 W net export.
            # B1: +1 / +20 Wh at 40 W / 1240 W: 1,200 W net export.
            for meter, imp, exp, imp_w, exp_w in ((A1, 1, 3, 60, 240), (B1, 1, 20, 40, 1240)):
                conn.execute(
                    READINGS,
                    {
                        "start": start,
                        "meter": meter,
                        "imp": imp,
                        "exp": exp,
                        "imp_w": imp_w,
                        "exp_w": exp_w,
                        "n": MINUTES,
                    },
                )
            conn.execute("SELECT wattline.merge_register_readings()")
        rollups.refresh(conn)
    api.start = start
    return api


def serials(body: dict) -> list[str]:
    return [m["serial"] for m in body["items"]]


def test_meter_list_filters(seeded):
    assert serials(seeded.json(f"{V1}/meters", "read")) == [
        "PRE-1",
        "PRE-2",
        "PRO-A1",
        "PRO-A2",
        "PRO-B1",
    ]
    # 4.99 < 5.00 (wattline.low_balance_threshold); silent for over 60 minutes; CSQ 5 < 10.
    assert serials(seeded.json(f"{V1}/meters?low_balance=true", "read")) == ["PRE-1"]
    assert serials(seeded.json(f"{V1}/meters?offline=true", "read")) == ["PRE-1", "PRO-A2"]
    assert serials(seeded.json(f"{V1}/meters?unhealthy=true", "read")) == ["PRE-1"]
    assert serials(seeded.json(f"{V1}/meters?offline=false&unhealthy=false", "read")) == [
        "PRE-2",
        "PRO-A1",
        "PRO-B1",
    ]
    problem(seeded.get(f"{V1}/meters?offline=maybe", hs256("read")), 422)


def test_meter_detail_has_shadow_registers_and_tariffs(seeded):
    m = seeded.json(f"{V1}/meters/PRE-1", "read")
    assert (m["meterId"], m["balance"], m["lowBalance"]) == (PRE1, 4.99, True)
    assert m["shadow"]["csq"] == 5
    assert [r["element"] for r in m["registers"]] == ["SINGLE"]
    assert m["tariffs"]["active"] == {"standing_charge": 0.5868, "unit_rate_element_a": 0.2843}
    assert seeded.json(f"{V1}/meters/{PRE1}", "read")["serial"] == "PRE-1"  # by id too
    problem(seeded.get(f"{V1}/meters/NOPE", hs256("read")), 404)


def test_balance_history_is_daily(seeded):
    body = seeded.json(
        f"{V1}/meters/PRE-1/balance-history?from=2024-03-01T00:00:00Z&to=2024-03-04T00:00:00Z",
        "read",
    )
    days = {
        d["day"][:10]: (d["minBalance"], d["maxBalance"], d["lastBalance"], d["readings"])
        for d in body["days"]
    }
    assert days == {
        "2024-03-01": (8.0, 10.0, 8.0, 2),
        "2024-03-02": (6.0, 7.0, 6.0, 2),
        "2024-03-03": (4.99, 4.99, 4.99, 1),
    }


def test_readings_are_bucketed_to_at_most_1000_points(seeded):
    since = (seeded.start - timedelta(minutes=1)).isoformat()
    body = seeded.json(f"{V1}/meters/PRO-A1/readings", "read", params={"from": since})
    # 21 readings a minute apart in a window of ~22 minutes: 10-second buckets, one each.
    assert (body["bucketSeconds"], len(body["points"])) == (10, MINUTES + 1)
    # The first reading of a series has no delta; each next one +1 Wh import, +3 Wh export.
    assert sum(p["importWh"] for p in body["points"]) == MINUTES
    assert sum(p["exportWh"] for p in body["points"]) == 3 * MINUTES
    assert {p["exportW"] for p in body["points"]} == {240}
    for days in (7, 399):
        hi = datetime.now(UTC)
        since = (hi - timedelta(days=days)).isoformat()
        body = seeded.json(f"{V1}/meters/PRO-A1/readings", "read", params={"from": since})
        assert days * 86400 / body["bucketSeconds"] <= 999 and len(body["points"]) <= 1000
    problem(
        seeded.get(f"{V1}/meters/PRO-A1/readings?from=2020-01-01T00:00:00Z", hs256("read")), 422
    )  # over 400 days


def _expected_estimate(seeded, body: dict, watts: int, net_wh_per_minute: int) -> None:
    start = datetime.fromisoformat(body["periodStart"])
    assert datetime.fromisoformat(body["periodEnd"]) - start == timedelta(minutes=5)
    in_period = [t for t in reading_times(seeded.start) if t >= start]
    net_wh = net_wh_per_minute * len(in_period)
    assert (body["currentPowerKw"], body["averagePowerKw"]) == (watts / 1000, watts / 1000)
    assert body["netEnergyWh"] == net_wh
    assert Decimal(str(body["currentRunningEtk"])) == Decimal(net_wh) / 1000


def test_estimator_defaults_to_the_accounts_first_meter(seeded):
    a = seeded.json(f"{V1}/settlement/estimator", "self", account="acct-a")
    assert (a["serial"], a["meterId"], a["periodMinutes"]) == ("PRO-A1", A1, 5)
    _expected_estimate(seeded, a, 180, 3 - 1)
    b = seeded.json(f"{V1}/settlement/estimator", "self", account="acct-b")
    assert b["serial"] == "PRO-B1"
    _expected_estimate(seeded, b, 1200, 20 - 1)
    assert seeded.json(f"{V1}/settlement/estimator?meter=PRO-B1", "read")["serial"] == "PRO-B1"
    problem(seeded.get(f"{V1}/settlement/estimator", hs256("read")), 422)  # read: name one
    problem(seeded.get(f"{V1}/settlement/estimator", hs256("self", account="acct-none")), 404)
    silent = problem(seeded.get(f"{V1}/settlement/estimator?meter=PRO-A2", hs256("read")), 404)
    assert "no readings from PRO-A2 in the last 60 minutes" in silent["detail"]


def test_the_cli_and_the_api_estimate_alike(seeded):
    out = subprocess.run(
        [sys.executable, "-m", "wattline.cli", "estimator", "PRO-B1"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": seeded.db_url},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    cli = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    api = seeded.json(f"{V1}/settlement/estimator?meter=PRO-B1", "read")
    assert (float(cli["current_power_kw"]), float(cli["average_power_kw"])) == (
        api["currentPowerKw"],
        api["averagePowerKw"],
    )


def test_self_isolation_by_id_by_filter_and_by_default(seeded):
    a = hs256("self", account="acct-a")
    assert serials(seeded.json(f"{V1}/meters", "self", account="acct-a")) == ["PRO-A1", "PRO-A2"]
    assert serials(seeded.json(f"{V1}/meters?offline=false", "self", account="acct-a")) == [
        "PRO-A1"
    ]
    assert serials(seeded.json(f"{V1}/meters?low_balance=true", "self", account="acct-a")) == []
    for path in (
        "/meters/PRO-B1",
        f"/meters/{B1}",
        f"/meters/{B1}/readings",
        "/meters/PRO-B1/balance-history",
        "/settlement/estimator?meter=PRO-B1",
        f"/settlement/estimator?meter={B1}",
        "/settlement/history?meter=PRO-B1",
        "/energy/real-time?meter=PRO-B1",
    ):
        problem(seeded.get(f"{V1}{path}", a), 404)
    assert seeded.json(f"{V1}/energy/real-time", "self", account="acct-a")["serial"] == "PRO-A1"
    problem(seeded.call("POST", f"{V1}/settlement/manual/PRO-A1", a), 403)


def test_manual_settlement_then_history(seeded):
    lo, hi = seeded.start, datetime.now(UTC) + timedelta(minutes=1)
    window = {"from": lo.isoformat(), "to": hi.isoformat()}
    r = seeded.call("POST", f"{V1}/settlement/manual/PRO-A1", hs256("operate"), params=window)
    assert r.status_code == 200, r.text
    periods = {t.replace(minute=t.minute - t.minute % 5) for t in reading_times(seeded.start)}
    assert r.json()["periodsWritten"] == len(periods)
    h = seeded.json(f"{V1}/settlement/history?meter=PRO-A1&page_size=500", "read")
    assert h["total"] == len(periods)
    # 20 readings after the first, each 3 - 1 = 2 Wh net export.
    assert sum(p["netWh"] for p in h["items"]) == 2 * MINUTES
    assert [p["periodStart"] for p in h["items"]] == sorted(
        (p["periodStart"] for p in h["items"]), reverse=True
    )
    mine = seeded.json(f"{V1}/settlement/history", "self", account="acct-a")
    assert mine["serial"] == "PRO-A1" and mine["total"] == len(periods)
    problem(seeded.call("POST", f"{V1}/settlement/manual/NOPE", hs256("operate")), 404)


def test_energy_real_time(seeded):
    e = seeded.json(f"{V1}/energy/real-time?meter=PRO-A1", "read")
    assert (e["importW"], e["exportW"], e["netPowerW"]) == (60, 240, 180)
    (element,) = e["elements"]
    assert (element["element"], element["importWh"], element["exportWh"]) == (
        "SINGLE",
        1000 + MINUTES,
        3 * MINUTES,
    )
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    today = [t for t in reading_times(seeded.start)[1:] if t >= midnight]
    assert (e["today"]["importWh"], e["today"]["exportWh"]) == (len(today), 3 * len(today))
