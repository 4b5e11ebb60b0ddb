"""The API benchmark at a tiny size: its data set loads to end now, the API it starts answers
every scheduled request of both endpoints with a 200, and the estimator it measures is the
one the CLI computes. No timings are asserted."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

# bench/ is not an installed package (benchmarks run from the work tree with `python -m`).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from analytics.estimator_job import find_meter, live_estimate  # noqa: E402
from analytics.settlement import SettlementConfig  # noqa: E402
from bench import api  # noqa: E402
from sql import db  # noqa: E402


def test_api_benchmark_runs_and_every_answer_is_200(db_url):
    api.load(db_url, raw_rows=100, days=1, log=lambda _: None)
    serials, ids = api.targets(db_url)
    assert len(serials) == 1 and ids  # 100 rows a day: one meter, and a few sessions
    with db.connect(db_url, autocommit=True) as conn:
        meter_id, tz = find_meter(conn, serials[0])
        estimate = live_estimate(conn, meter_id, tz, datetime.now(UTC), SettlementConfig())
    assert estimate is not None  # the data ends now: the current period has readings
    rows, loads = api.run(db_url, rate=20, seconds=1)
    assert [r[0] for r in rows] == ["GET /settlement/estimator?meter=", "GET /sessions/{id}"]
    for got in loads:
        assert dict(got.statuses) == {200: 20}
        assert len(got.latencies_ms) == 20
