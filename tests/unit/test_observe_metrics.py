"""The figures behind /metrics that need no server: bounded labels, the class of a reject's
reason, the result of a reply, the spool's count of documents not replayed yet, and a stuck
event loop seen from the side server's thread."""

from __future__ import annotations

import asyncio
import threading

from ingest import spool_format
from ingest.spool import Spool
from wattline.observe import metrics
from wattline.observe.health import Health


def test_a_reply_result_is_its_status_or_its_error_code():
    assert metrics.reply_result([3, "1", {}]) == "accepted"  # MeterValues.conf
    assert metrics.reply_result([3, "1", {"currentTime": "2024-01-01T00:00:00Z"}]) == "accepted"
    assert metrics.reply_result([3, "1", {"status": "Rejected", "interval": 300}]) == "rejected"
    assert metrics.reply_result([3, "1", {"idTagInfo": {"status": "Blocked"}}]) == "blocked"
    assert metrics.reply_result([3, "1", {"status": "Whatever"}]) == "other"
    assert metrics.reply_result([4, "1", "FormationViolation", "", {}]) == "FormationViolation"
    assert metrics.reply_result([4, "1", "MadeUpCode", "", {}]) == "other"


def test_label_values_outside_the_fixed_sets_are_other():
    assert metrics.bounded("MeterValues", metrics.OCPP_ACTIONS) == "MeterValues"
    assert metrics.bounded("CP-0001-MeterValues", metrics.OCPP_ACTIONS) == "other"
    assert metrics.bounded(None, metrics.MQTT_KINDS) == "other"
    assert metrics.bounded(["reading"], metrics.MQTT_KINDS) == "other"


def test_api_responses_are_counted_by_a_real_status_code_only():
    def count(code: str) -> float:
        found = metrics.REGISTRY.get_sample_value("wattline_api_responses_total", {"code": code})
        return found or 0.0

    before = count("404"), count("other")
    for status in (404, 404, 1234):
        metrics.api_response(status)
    assert (count("404"), count("other")) == (before[0] + 2, before[1] + 1)


def test_reject_reasons_fall_into_a_few_classes():
    cases = {
        "topic is not under meters/": "topic",
        "unknown message kind 'x'; expected one of reading, balance": "topic",
        "unknown meter 'EML1' (WATTLINE_ALLOW_UNKNOWN_METERS is off)": "unknown_meter",
        "refused by the database: value too long": "database",
        "internal error: KeyError('x')": "internal",
        "timestamp 1999-01-01 is before 2000-01-01; stored at the server's receive time now":
            "charger_time",
        "record 2 of 2: ts 1970-01-01T00:00:00+00:00 is before 2000-01-01": "payload",
    }  # fmt: skip
    assert {reason: metrics.reject_class(reason) for reason in cases} == cases


def test_the_spool_counts_the_documents_replay_has_not_committed(tmp_path):
    path = tmp_path / "spool.jsonl"
    spool = Spool(path)
    spool.append([spool_format.dump({"n": n}) for n in range(3)])
    spool.append([spool_format.dump({"n": 3})])
    assert spool.documents == 4
    # Replay reads two (a weight of 1 each, a budget of 2) and commits them: 2 are left.
    first = spool.read(lambda document: 1, 2)
    assert [d["n"] for d, _ in first.documents] == [0, 1]
    spool.commit(first.end)
    assert spool.documents == 2
    # A process starting on the spool counts what is left from the committed offset on.
    assert Spool(path).documents == 2
    last = spool.read(lambda document: 1, 10)
    spool.commit(last.end)
    assert (spool.documents, path.exists()) == (0, False)


def test_healthz_fails_while_the_event_loop_is_stuck():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    health = Health("postgresql://unused", loop=loop)
    try:
        assert health.live() == []
        stuck = threading.Event()
        loop.call_soon_threadsafe(stuck.wait)  # blocks the loop until released
        try:
            assert health.live() == ["the event loop did not answer within 2 s"]
        finally:
            stuck.set()
        assert health.live() == []
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
