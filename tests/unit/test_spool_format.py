import io
import json
import pickle
import uuid
import zlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ingest import spool_format

AT = datetime(2024, 8, 1, 10, 0, tzinfo=UTC)
DOCUMENT = {
    "rows": {
        "meter_values": [
            (AT, AT, "CP-1", 1, None, "Energy.Active.Import.Register", "", "Outlet",
             "Sample.Periodic", "Wh", Decimal("1000.5"), "ok"),
        ],
        "ocpp_messages": [
            (AT.astimezone(timezone(timedelta(hours=2))), "CP-1", "in", 2, "m1", "MeterValues",
             {"connectorId": 1}, "[2,\"m1\"]\n@wl 1 00000000\n",
             uuid.UUID("0190f0e4-0000-7000-8000-000000000001")),
        ],
    },
    "statements": [("touch_charge_point", {"charge_point_id": "CP-1", "seen_at": AT})],
}  # fmt: skip


def payload(record: bytes) -> bytes:
    header, _, rest = record.partition(b"\n")
    magic, length, crc = header.split()
    body = rest[: int(length)]
    assert magic == b"@wl" and rest[int(length) :] == b"\n" and zlib.crc32(body) == int(crc, 16)
    return body


def test_a_document_comes_back_with_its_types():
    loaded = spool_format.load(payload(spool_format.dump(DOCUMENT)))
    assert loaded == DOCUMENT
    meter, frame = loaded["rows"]["meter_values"][0], loaded["rows"]["ocpp_messages"][0]
    assert meter[10] == Decimal("1000.5") and isinstance(meter[10], Decimal)
    assert frame[0].utcoffset() == timedelta(hours=2) and isinstance(frame[8], uuid.UUID)
    assert isinstance(meter, tuple)


def test_a_time_in_a_named_zone_comes_back_in_that_zone():
    paris = datetime(2024, 8, 1, 12, 0, tzinfo=ZoneInfo("Europe/Paris"))
    (loaded,) = spool_format.load(payload(spool_format.dump([paris])))
    assert loaded == paris and loaded.tzinfo is ZoneInfo("Europe/Paris")


def test_a_record_written_as_json_before_is_still_read():
    old = json.dumps(spool_format.encode(DOCUMENT), separators=(",", ":")).encode()
    loaded = spool_format.load(old)
    # JSON has no tuples: rows come back as lists, which Batch.from_document turns into tuples.
    assert loaded["rows"]["meter_values"][0][10] == Decimal("1000.5")
    assert loaded["rows"]["ocpp_messages"][0][8] == uuid.UUID(
        "0190f0e4-0000-7000-8000-000000000001"
    )


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_pickle_naming_other_code_is_refused_not_run(capsys):
    with pytest.raises(ValueError, match="builtins.print"):
        spool_format.load(pickle.dumps(Evil(), protocol=5))
    assert capsys.readouterr().out == ""


def test_a_value_that_would_not_load_back_is_refused_when_spooled():
    with pytest.raises(ValueError, match="may not name"):
        spool_format.dump({"rows": {}, "statements": [("q", {"v": io.StringIO})]})


def test_bytes_that_are_no_pickle_are_a_value_error():
    with pytest.raises(ValueError, match="not a pickle"):
        spool_format.load(b"\x80\x05garbage")
