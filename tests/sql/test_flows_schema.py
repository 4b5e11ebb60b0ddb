"""Schema flows: the Flows platform's own saved queries for the meter domain run unchanged as
the reader, and give the figures worked out by hand from the rows below."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from sql import db

# The platform's queries, verbatim but for its {{...}} placeholders and trailing blanks.
ACTIVE_METERS_OF_AN_ESCO = """SELECT id, serial, name, ip_address
FROM flows.meter_registry
WHERE mode = 'active'
  AND esco = '{{esco_id}}'
ORDER BY name;"""
BALANCE_HISTORY_7_DAYS = """SELECT timestamp, balance, emergency_credit
FROM flows.meter_prepay_balance
WHERE meter_id = '{{meter_id}}'
  AND timestamp > NOW() - INTERVAL '7 days'
ORDER BY timestamp DESC;"""
LOW_BALANCE = """SELECT * FROM flows.meters_low_balance
WHERE balance < 5.00;  -- Meters under £5"""
OFFLINE = """SELECT serial, last_online,
       EXTRACT(EPOCH FROM (NOW() - last_online))/60 as minutes_offline
FROM flows.meters_offline_recently
WHERE last_online < NOW() - INTERVAL '1 hour';"""
METER_STATUS = """SELECT
    mr.serial,
    mr.name,
    ms.balance,
    ms.health,
    ms.csq,
    ms.updated_at
FROM flows.meter_registry mr
JOIN flows.meter_shadows ms ON mr.id = ms.id
WHERE mr.serial = 'EML2137580826';"""
DAILY_BALANCE = """SELECT
    DATE(timestamp) as day,
    MIN(balance) as min_balance,
    MAX(balance) as max_balance,
    AVG(balance) as avg_balance
FROM flows.meter_prepay_balance
WHERE meter_id = '{{meter_id}}'
  AND timestamp > NOW() - INTERVAL '30 days'
GROUP BY DATE(timestamp)
ORDER BY day DESC;"""


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def meters(db_url: str, now: datetime) -> dict[str, str]:
    ids = {}
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with db.connect(db_url, autocommit=True) as conn:
        for serial, name, esco, mode, balance, seen_ago in (
            ("EML2137580826", "Flat 1", "esco-1", "active", "3.20", timedelta(hours=2)),
            ("EML0000000002", "Flat 2", "esco-1", "passive", "12.00", timedelta(minutes=1)),
            ("EML0000000003", "Shop", "esco-2", "active", "4.99", timedelta(minutes=5)),
        ):
            ids[serial] = conn.execute(
                "INSERT INTO wattline.meter_registry (serial, name, esco, mode, ip_address)"
                " VALUES (%s, %s, %s, %s, '10.0.0.7') RETURNING id::text AS id",
                (serial, name, esco, mode),
            ).fetchone()["id"]
            conn.execute(
                "INSERT INTO wattline.meter_shadows (id, balance, health, csq, last_seen_at,"
                " updated_at) VALUES (%s, %s, 'healthy', 21, %s, %s)",
                (ids[serial], Decimal(balance), now - seen_ago, now - seen_ago),
            )
        flat = ids["EML2137580826"]
        for at, balance in (
            (day - timedelta(days=40), "50.00"),  # outside both windows
            (day - timedelta(days=2, hours=-10), "10.00"),
            (day - timedelta(days=2, hours=-18), "4.50"),
            (day - timedelta(days=1, hours=-9), "3.20"),
        ):
            conn.execute(
                "INSERT INTO wattline.meter_prepay_balance (time, meter_id, balance,"
                " emergency_credit) VALUES (%s, %s, %s, 15)",
                (at, flat, Decimal(balance)),
            )
    return ids


def _reader(db_url: str) -> psycopg.Connection:
    params = psycopg.conninfo.conninfo_to_dict(db_url) | {"user": "wattline_reader"}
    return psycopg.connect(db.with_session_options(psycopg.conninfo.make_conninfo(**params)))


def test_the_platforms_meter_queries_run_unchanged(db_url, meters, now):
    flat = meters["EML2137580826"]
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with _reader(db_url) as conn:
        run = lambda q: conn.execute(  # noqa: E731
            q.replace("{{esco_id}}", "esco-1").replace("{{meter_id}}", flat)
        ).fetchall()
        active = run(ACTIVE_METERS_OF_AN_ESCO)
        assert [(str(r[0]), r[1], r[2], str(r[3])) for r in active] == [
            (flat, "EML2137580826", "Flat 1", "10.0.0.7")  # Flat 2 is passive, Shop esco-2
        ]
        history = run(BALANCE_HISTORY_7_DAYS)
        assert [(r[1], r[2]) for r in history] == [
            (Decimal("3.20"), 15),
            (Decimal("4.50"), 15),
            (Decimal("10.00"), 15),
        ]
        assert history[0][0] == day - timedelta(days=1) + timedelta(hours=9)
        low = run(LOW_BALANCE)
        assert sorted(r[1] for r in low) == ["EML0000000003", "EML2137580826"]
        offline = run(OFFLINE)
        assert [r[0] for r in offline] == ["EML2137580826"]
        # seen two hours before `now`, a moment ago
        waited = (datetime.now(UTC) - now).total_seconds() / 60
        assert 120 <= offline[0][2] <= 120 + waited + 0.1
        status = run(METER_STATUS)
        assert [r[:5] for r in status] == [
            ("EML2137580826", "Flat 1", Decimal("3.20"), "healthy", 21)
        ]
        daily = run(DAILY_BALANCE)
        assert [(r[0], r[1], r[2], round(r[3], 2)) for r in daily] == [
            ((day - timedelta(days=1)).date(), Decimal("3.20"), Decimal("3.20"), Decimal("3.20")),
            ((day - timedelta(days=2)).date(), Decimal("4.50"), Decimal("10.00"), Decimal("7.25")),
        ]
