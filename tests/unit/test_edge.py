"""ingest.edge: each class of value the database would refuse is refused with a reason, and
ordinary documents pass untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ingest import edge

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"v": NaN}', "NaN"),
        ('{"v": -Infinity}', "-Infinity"),
        ('{"v": 1e1000000}', "out of range"),
        ('{"s": "a\\u0000b"}', "$.s contains NUL"),
        ('{"k\\u0000": 1}', "a key in $ contains NUL"),
        ('[2, "1", "Heartbeat", {"x": ["\\ud800"]}]', "$[3].x[0] contains a lone UTF-16"),
        ("[" * 17 + "]" * 17, "deeper than 16"),
        ('{"a": "[[[[[[[[[[[[[[[[[["}' + "[" * 17 + "]" * 17, "deeper than 16"),
    ],
)
def test_refused_with_reason(text: str, reason: str) -> None:
    with pytest.raises(edge.EdgeError, match=reason.replace("$", r"\$").replace("[", r"\[")):
        edge.loads(text)


def test_ordinary_documents_pass() -> None:
    # 16 levels is the limit itself; brackets inside strings do not count.
    assert edge.loads("[" * 16 + "]" * 16) is not None
    assert edge.loads('{"a": "[[[[[[[[[[[[[[[[[[[[[[["}') == {"a": "[" * 23}
    # A surrogate pair is one real character (an emoji), not a lone surrogate.
    assert edge.loads('{"s": "\\ud83d\\ude00"}') == {"s": "\U0001f600"}
    assert edge.loads('{"e": 12.5, "n": 3}', decimals=True) == {"e": Decimal("12.5"), "n": 3}
    # The Decimal decoder keeps a huge number exactly, for number_problem to refuse by name.
    assert edge.number_problem(edge.loads("[1e1000000]", decimals=True)[0]) is not None


def test_depth_error_is_not_a_recursion_error() -> None:
    with pytest.raises(edge.EdgeError):
        edge.loads("[" * 200_000 + "]" * 200_000)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (Decimal("1234567.891"), True),
        (Decimal("999999999999999.9"), True),
        (Decimal("1E+15"), False),
        (Decimal("-1E+16"), False),
        (Decimal("1E+1000000"), False),
        (Decimal("NaN"), False),
        (Decimal("1E-13"), True),  # fine, but storable: see test_storable_rounds_float_noise
        (2**63, False),
        (float("inf"), False),
    ],
)
def test_numbers(value: Decimal | int | float, ok: bool) -> None:
    assert (edge.number_problem(value) is None) is ok


def test_int32() -> None:
    assert edge.int_problem(2**31 - 1) is None
    assert edge.int_problem(2**31) == "is out of range (-2147483648 to 2147483647)"
    assert edge.int_problem(-(2**31) - 1) is not None


def test_time_window() -> None:
    ahead = timedelta(seconds=600)
    assert edge.time_problem(NOW + timedelta(seconds=599), now=NOW, max_future=ahead) is None
    assert "600 s ahead" in edge.time_problem(
        NOW + timedelta(seconds=601), now=NOW, max_future=ahead
    )
    # Year 10000 in UTC: Python holds it as 9999 with an offset, psycopg could not read it back.
    far = datetime.fromisoformat("9999-12-31T23:59:59-14:00")
    assert edge.time_problem(far, now=NOW, max_future=ahead) is not None
    unset = datetime(1970, 1, 1, tzinfo=UTC)
    assert "clock set" in edge.time_problem(unset, now=NOW, max_future=ahead)


def test_pg_text_keeps_what_it_can() -> None:
    assert edge.pg_text("a\x00b") == "a\\u0000b"
    assert edge.pg_text("x\ud800y") == "x\\ud800y"
    assert edge.pg_text("plain ü") == "plain ü"
    assert edge.text_problem("plain ü") is None


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (Decimal("0.30000000000000004"), Decimal("0.3")),  # a raw double, printed whole
        (Decimal("1234.5678901234567"), Decimal("1234.567890123457")),  # half-even at 12
        (Decimal("1E-100000"), Decimal(0)),  # not a 100,000-digit numeric
        (Decimal("1.000000000000000"), Decimal("1.000000000000000")),  # kept as sent
        (Decimal("15234.5"), Decimal("15234.5")),
        (Decimal("1E+15"), "is out of range (|x| < 1e15)"),
    ],
)
def test_storable_rounds_float_noise(value: Decimal, stored: Decimal | str) -> None:
    result = edge.storable(value)
    assert result == stored
    if isinstance(stored, Decimal):
        assert str(result) == str(stored)  # the digits stored, not just an equal number
