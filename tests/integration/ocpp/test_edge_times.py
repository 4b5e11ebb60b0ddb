"""Charger times outside [WATTLINE_MIN_TIME, now + WATTLINE_MAX_FUTURE_S]: a far-future time once
stored as year 10000, which psycopg cannot read back, broke every later MeterValues of that
connector and the fleet's charger cards. Sampled values stamped so are confirmed and kept as
rejects; other messages are taken at the server's receive time, with a reject row that keeps the
charger's time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import edge_support as edge
import pytest
from ocpp_support import exchange, query, raw_socket

from sql import db, queries

FAR = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC
UNSET = "1970-01-01T00:00:07Z"  # a charger whose clock was never set


def _charger_cards(db_url: str) -> list[dict]:
    with db.connect(db_url, autocommit=True) as conn:
        return conn.execute(queries.get("dash_charger_cards")).fetchall()


def _rejects(db_url: str) -> list[dict]:
    return query(db_url, "SELECT key, reason, raw FROM wattline.ingest_rejects ORDER BY time")


@pytest.mark.parametrize(("at", "why"), [(FAR, "600 s ahead"), (UNSET, "before 2000-01-01")])
async def test_meter_values_outside_the_window_are_confirmed_and_kept_apart(
    db_url, tmp_path, at, why
):
    frame = edge.meter_values("bad", "4321", at)
    async with edge.central(db_url, tmp_path) as central:
        assert await edge.alongside_a_good_charger(central, frame) == [3, "bad", {}]
        await edge.check_the_good_charger(db_url)
        # Not stored as a reading, so in no rollup; the connector's next reading is.
        assert edge.readings(db_url, edge.BAD) == [("10:00", 7777)]
        await edge.frames_of(db_url, edge.BAD, 4)
    (reject,) = _rejects(db_url)
    assert reject["key"] == "CP-BAD/MeterValues"
    assert reject["reason"].startswith(f"meterValue.timestamp {at} ") and why in reject["reason"]
    assert json.loads(reject["raw"]) == {"value": "4321"}
    cards = {c["charge_point_id"]: c for c in _charger_cards(db_url)}
    assert cards[edge.BAD]["meter_at"] == datetime(2024, 1, 27, 10, 0, tzinfo=UTC)


async def test_a_status_from_the_far_future_is_kept_at_receive_time(db_url, tmp_path):
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": FAR}
    before = datetime.now(UTC)
    async with edge.central(db_url, tmp_path) as central:
        answer = await edge.alongside_a_good_charger(
            central, [2, "bad", "StatusNotification", status]
        )
        assert answer == [3, "bad", {}]
        await edge.check_the_good_charger(db_url)
        assert edge.readings(db_url, edge.BAD) == [("10:00", 7777)]
        await edge.frames_of(db_url, edge.BAD, 4)
        # The connector goes on: a later status, at the charger's own (good) time, wins.
        async with raw_socket(central, edge.BAD) as ws:
            later = {**status, "status": "Available", "timestamp": "2024-01-27T11:00:00Z"}
            assert await exchange(ws, [2, "s2", "StatusNotification", later]) == [3, "s2", {}]
    after = datetime.now(UTC)
    stored = query(db_url, "SELECT time, status FROM wattline.status_notifications ORDER BY time")
    assert [s["status"] for s in stored] == ["Available", "Charging"]
    assert before <= stored[1]["time"] <= after
    (reject,) = _rejects(db_url)
    assert reject["key"] == "CP-BAD/StatusNotification"
    assert f"timestamp {FAR} is more than 600 s ahead" in reject["reason"]
    assert "stored at the server's receive time" in reject["reason"]
    assert json.loads(reject["raw"]) == [2, "bad", "StatusNotification", status]
    cards = {c["charge_point_id"]: c for c in _charger_cards(db_url)}
    assert before <= cards[edge.BAD]["status_at"] <= after


async def test_a_start_from_1970_is_a_session_at_receive_time_and_a_resend_counts_once(
    db_url, tmp_path
):
    start = {"connectorId": 1, "idTag": "TAG-1", "meterStart": 5000, "timestamp": UNSET}
    before = datetime.now(UTC)
    async with edge.central(db_url, tmp_path) as central:
        answer = await edge.alongside_a_good_charger(central, [2, "bad", "StartTransaction", start])
        assert answer[:2] == [3, "bad"]
        transaction_id = answer[2]["transactionId"]
        await edge.check_the_good_charger(db_url)
        # The charger did not hear the answer and sends the start again, on a new connection.
        async with raw_socket(central, edge.BAD) as ws:
            again = await exchange(ws, [2, "again", "StartTransaction", start])
            assert again[2]["transactionId"] == transaction_id
        await edge.frames_of(db_url, edge.BAD, 6)
    after = datetime.now(UTC)
    (session,) = query(db_url, "SELECT id, started_at, meter_start_wh FROM wattline.transactions")
    assert (session["id"], session["meter_start_wh"]) == (transaction_id, 5000)
    assert before <= session["started_at"] <= after
    begin = query(
        db_url,
        "SELECT time, value FROM wattline.meter_values WHERE context = 'Transaction.Begin'",
    )
    assert begin == [{"time": session["started_at"], "value": 5000}]
    rejects = _rejects(db_url)
    assert [r["key"] for r in rejects] == ["CP-BAD/StartTransaction"] * 2
    assert all(f"timestamp {UNSET} is before 2000-01-01" in r["reason"] for r in rejects)


async def test_a_stop_from_the_far_future_is_kept_at_receive_time(db_url, tmp_path):
    stop = {"transactionId": 41, "meterStop": 6000, "timestamp": FAR}
    before = datetime.now(UTC)
    async with edge.central(db_url, tmp_path) as central:
        answer = await edge.alongside_a_good_charger(central, [2, "bad", "StopTransaction", stop])
        assert answer == [3, "bad", {}]
        await edge.check_the_good_charger(db_url)
        await edge.frames_of(db_url, edge.BAD, 4)
    after = datetime.now(UTC)
    # An orphan stop (we never issued 41), kept once, at our time.
    (session,) = query(
        db_url, "SELECT charger_transaction_id, stopped_at, orphan FROM wattline.transactions"
    )
    assert (session["charger_transaction_id"], session["orphan"]) == (41, True)
    assert before <= session["stopped_at"] <= after
    (reject,) = _rejects(db_url)
    assert reject["key"] == "CP-BAD/StopTransaction" and FAR in reject["reason"]
