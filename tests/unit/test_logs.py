"""wattline.logs: the JSON line's fields, the meter a line is about, and no secret in a
traceback's text."""

from __future__ import annotations

import json
import logging
import sys

from wattline import logs


def _record(message: str, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord(
        "ingest.mqtt.handler", logging.ERROR, __file__, 1, message, args, exc_info
    )


def test_a_line_names_the_meter_and_masks_the_exception():
    formatter = logs.JsonFormatter("mqtt")
    try:
        raise ConnectionError("connection to postgresql://wattline:hunter2@db/wattline failed")
    except ConnectionError:
        info = sys.exc_info()
    with logs.bound(meter_id="ABC123"):
        record = _record("could not handle a message on %s", "meters/ABC123/reading", exc_info=info)
        assert logs.SecretFilter().filter(record)
        line = json.loads(formatter.format(record))
    assert line["process"] == "mqtt" and line["level"] == "error"
    assert line["meter"] == "ABC123" and "charge_point" not in line
    assert line["message"] == "could not handle a message on meters/ABC123/reading"
    assert "postgresql://wattline:***@db/wattline" in line["exception"]
    assert "hunter2" not in json.dumps(line)
    # Outside the block the meter is forgotten.
    assert "meter" not in json.loads(formatter.format(_record("idle")))
