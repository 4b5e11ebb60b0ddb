import json
from datetime import UTC, datetime

import pytest

from ingest.ocpp.frames import frame_row, to_1_6_spelling
from ingest.ocpp.server import charge_point_id_of
from ingest.ocpp.service import offline_transaction_id

AT = datetime(2024, 1, 27, 9, 45, tzinfo=UTC)


def test_error_codes_are_spelt_as_ocpp_1_6_does():
    frame = json.dumps([4, "1", "FormatViolation", "bad", {}])
    assert json.loads(to_1_6_spelling(frame))[2] == "FormationViolation"
    frame = json.dumps([4, "1", "OccurrenceConstraintViolation", "", {}])
    assert json.loads(to_1_6_spelling(frame))[2] == "OccurenceConstraintViolation"
    assert json.loads(to_1_6_spelling(json.dumps([4, "1", "NotSupported", "", {}])))[2] == (
        "NotImplemented"
    )
    untouched = json.dumps([3, "1", {"status": "FormatViolation"}])
    assert to_1_6_spelling(untouched) == untouched


def test_frame_rows_keep_payloads_and_raw_text_of_non_ocpp_frames():
    call = frame_row("CP", "in", '[2,"7","Heartbeat",{}]', AT, "Heartbeat")
    assert call == (AT, "CP", "in", 2, "7", "Heartbeat", "{}", None)
    error = frame_row("CP", "out", '[4,"7","ProtocolError","x",{}]', AT, "Heartbeat")
    assert json.loads(error[6]) == {
        "errorCode": "ProtocolError",
        "errorDescription": "x",
        "errorDetails": {},
    }
    assert frame_row("CP", "in", "not json", AT, None)[3:] == (None, None, None, None, "not json")
    nul = frame_row("CP", "in", '[2,"8","DataTransfer",{"vendorId":"\\u0000"}]', AT, None)
    assert nul[6] is None and "\x00" not in nul[7]


def test_charge_point_ids_come_from_the_path():
    assert charge_point_id_of("/ocpp/CP-1") == "CP-1"
    assert charge_point_id_of("/ocpp/CP%201?x=1") == "CP 1"
    assert charge_point_id_of("/ocpp/") is None
    assert charge_point_id_of("/ocpp/a/b") is None
    assert charge_point_id_of("/other/CP-1") is None
    assert charge_point_id_of("/ocpp/" + "x" * 49) is None


def test_offline_transaction_ids_are_negative_and_stable():
    first = offline_transaction_id("CP", 1, AT, "TAG")
    assert first == offline_transaction_id("CP", 1, AT, "TAG")
    assert -(2**31) <= first < 0
    assert first != offline_transaction_id("CP", 2, AT, "TAG")


@pytest.mark.parametrize(
    "payload",
    [{"data": float("nan")}, {"data": "x\ud800"}, {"k\x00": 1}, {"data": ["a\x00"]}],
)
def test_a_payload_jsonb_would_refuse_is_kept_as_escaped_text(payload):
    frame = json.dumps([2, "9", "DataTransfer", payload])
    row = frame_row("CP", "in", frame, AT, "DataTransfer", [2, "9", "DataTransfer", payload])
    assert row[3:7] == (2, "9", "DataTransfer", None)
    assert row[7] == frame and row[7].encode("utf-8")


def test_a_frame_whose_payload_was_unreadable_keeps_its_head_and_raw_text():
    frame = '[2,"9","Heartbeat",{"x":NaN}]'
    row = frame_row("CP", "in", frame, AT, "Heartbeat", [2, "9", "Heartbeat"], payload_kept=False)
    assert row[3:] == (2, "9", "Heartbeat", None, frame)
    # Parsed from scratch, the same frame is no OCPP message at all: kept raw, nothing else.
    assert frame_row("CP", "in", frame, AT, None)[3:] == (None, None, None, None, frame)


def test_raw_text_is_escaped_whatever_it_holds():
    row = frame_row("CP", "in", "not json \x00 \ud800", AT, None)
    assert row[7] == "not json \\u0000 \\ud800"
