"""Reject rows PostgreSQL takes whatever the message held, with a key that is the same for the
same refusal of the same message."""

from datetime import UTC, datetime

from ingest.mqtt import rows
from ingest.writer import Batch

AT = datetime(2024, 1, 27, 12, 0, tzinfo=UTC)


def test_a_reject_row_escapes_what_text_cannot_hold():
    batch = Batch()
    payload = b'{"type": "a\\u0000b", "x": "\xff\x00", "s": "\\ud800"}'
    topic, reason = "meters/EML\x001/event", "why \ud800 \x00"
    rows.reject(batch, topic, reason, payload, AT)
    assert batch.rows["ingest_rejects"] == [
        (
            AT,
            "mqtt",
            "meters/EML\\u00001/event",
            "why \\ud800 \\u0000",
            # The escapes the meter sent stay as they were; the raw NUL and the byte that is
            # not UTF-8 become escapes.
            '{"type": "a\\u0000b", "x": "\\xff\\u0000", "s": "\\ud800"}',
            rows.replay_key(topic, reason, payload),
        )
    ]


def test_a_long_reason_is_cut_and_the_payload_kept():
    batch = Batch()
    rows.reject(batch, "t", "r" * 5000, b"p" * 5000, AT)
    (row,) = batch.rows["ingest_rejects"]
    assert len(row[3]) == 1000 and row[4] == "p" * 5000
    assert row[5] == rows.replay_key("t", "r" * 1000, b"p" * 5000)  # the reason as stored


def test_the_replay_key_is_the_same_for_the_same_refusal_of_the_same_message():
    key = rows.replay_key("meters/A/reading", "record 2 of 2: x", b"[1, 2]")
    assert key == rows.replay_key("meters/A/reading", "record 2 of 2: x", b"[1, 2]")
    assert key != rows.replay_key("meters/B/reading", "record 2 of 2: x", b"[1, 2]")
    assert key != rows.replay_key("meters/A/reading", "record 1 of 2: x", b"[1, 2]")
    assert key != rows.replay_key("meters/A/reading", "record 2 of 2: x", b"[1, 3]")
    assert key.version == 5
    # Whatever the topic and reason hold, the key can be computed.
    assert rows.replay_key("meters/\ud800/reading", "\x00", b"\xff")
