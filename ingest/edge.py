"""What PostgreSQL (or Python on the way to it) would refuse, checked where data comes in.

Both ingest paths take JSON from devices we do not control. Anything the database cannot store
must be found here, at the edge, and answered as bad input: found later, in the writer, it would
fail a whole group commit, or block a spool replay for every charger and meter behind it. The
classes of value, and why each is refused:

- JSON nested deeper than ``MAX_DEPTH``: the decoder recurses, and RecursionError is no
  ValueError, so it escaped as an internal error;
- ``NaN``/``Infinity`` and numbers that overflow a float: jsonb and numeric arithmetic refuse
  them or they turn into infinities;
- NUL and lone UTF-16 surrogates in any string or key: PostgreSQL text and jsonb cannot hold NUL,
  and a lone surrogate cannot be encoded as UTF-8 at all;
- numbers beyond ``MAX_MAGNITUDE``: numeric takes far more, but no meter reading, balance or
  power is that large, and sums over them must stay cheap. Numbers finer than ``MAX_SCALE``
  decimals are not refused but rounded (``storable``): firmware that prints raw doubles sends
  ``0.30000000000000004``, and such a reading is real; only its float noise goes;
- integers outside their column's range (``INT32`` for OCPP 1.6 ids);
- times outside ``[min_time, now + max_future]``: a year-10000 time cannot even be read back by
  psycopg, and a 1970 time (a charger whose clock was never set) would land in buckets nobody
  looks at.

Checks cost nothing on ordinary traffic: each starts from a C-speed test (``str.count``, ``in``)
and walks the document only when that test cannot rule the problem out.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from typing import Any

MAX_DEPTH = 16  # an OCPP 1.6 payload nests at most 6 levels inside its frame, an MQTT record 3
MAX_DIGITS = 15  # |x| < 10^15: 10^15 Wh is a terawatt-hour, which no device register reaches
MAX_MAGNITUDE = 10**MAX_DIGITS
MAX_SCALE = 12  # decimals kept; a pico-watt-hour is float noise
INT32 = (-(2**31), 2**31 - 1)
_SCALE = Decimal(1).scaleb(-MAX_SCALE)
# Any number below MAX_MAGNITUDE quantized to MAX_SCALE decimals fits in this precision, so the
# quantize in number_problem cannot fail, whatever the thread's decimal context.
_QUANTIZE = Context(prec=MAX_DIGITS + MAX_SCALE + 1).quantize
_NORMALIZE = Context(prec=MAX_DIGITS + MAX_SCALE + 1)
DEFAULT_MIN_TIME = datetime(2000, 1, 1, tzinfo=UTC)

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_SAME_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_SHAPE = bytes(c for c in range(256) if c not in b'[]{}"')


class EdgeError(ValueError):
    """Input the database would refuse; the message is the reason, written for the sender."""


class NotPlainJson(EdgeError):
    """Not JSON at all (NaN, Infinity) or not of any sane shape (nesting): a malformed document,
    where the other EdgeErrors are well-formed documents holding a value that cannot be stored."""


def _refuse_constant(name: str) -> Any:
    raise NotPlainJson(f"{name} is not a number JSON allows (NaN and Infinity are refused)")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise EdgeError(f"number {text[:40]} is out of range")
    return value


_FLOAT_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_refuse_constant)
_DECIMAL_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant
)


def loads(text: str, *, decimals: bool = False) -> Any:
    """Parse ``text`` as JSON that the database can take: refuses (EdgeError) nesting deeper
    than MAX_DEPTH, NaN/Infinity, floats that overflow, and NUL or lone surrogates in any string.
    With ``decimals``, every number is a Decimal (exact energy and money). Other syntax errors
    raise json's own ValueError."""
    check_depth(text)
    value = (_DECIMAL_DECODER if decimals else _FLOAT_DECODER).decode(text)
    # NUL and surrogates can only arrive as \u escapes: raw control characters are JSON syntax
    # errors, and a str from a UTF-8 wire cannot hold a lone surrogate.
    if "\\u" in text:
        check_strings(value)
    return value


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    if text.count("[") + text.count("{") <= limit:
        return  # cannot nest deeper than it has brackets
    if "\\" not in text and _height_at_most(text, limit):
        return
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                raise NotPlainJson(f"JSON nested deeper than {limit} levels")
        else:
            depth -= 1


def _height_at_most(text: str, limit: int) -> bool:
    """True if ``text`` (without backslashes, so no escaped quotes) surely nests at most
    ``limit`` deep; False means "look closer". All in C: a MeterValues of 12 sampled values has
    28 brackets, and the exact scan below cost 50 us of it where this costs 2."""
    # Only brackets and quotes are kept; empty strings go. A bracket inside a string keeps a quote
    # beside it, which sends us to the exact scan.
    shape = text.encode("utf-8", "surrogatepass").translate(_SAME_BRACKETS, _NOT_SHAPE)
    shape = shape.replace(b'""', b"")
    if b'"' in shape:
        return False
    for _ in range(limit):  # each pass peels exactly one level: the innermost pairs
        if not shape:
            return True
        shape = shape.replace(b"[]", b"")
    return not shape


def text_problem(value: str) -> str | None:
    """Why PostgreSQL text cannot hold ``value``, or None."""
    if "\x00" in value:
        return "contains NUL (\\u0000), which PostgreSQL text cannot hold"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate, which is not Unicode text"
    return None


def check_strings(value: Any, path: str = "$") -> None:
    """Every string and key in a parsed JSON value must be storable text."""
    if isinstance(value, str):
        if problem := text_problem(value):
            raise EdgeError(f"{path} {problem}")
    elif isinstance(value, dict):
        for key, item in value.items():
            if problem := text_problem(key):
                raise EdgeError(f"a key in {path} {problem}")
            check_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_strings(item, f"{path}[{i}]")


def pg_text(value: str) -> str:
    """``value`` escaped so PostgreSQL text takes it whatever it holds: NUL and lone surrogates
    become their JSON escapes. For keeping what a device sent (frame log, reject rows), never
    for values that are parsed again."""
    if "\x00" in value:
        value = value.replace("\x00", "\\u0000")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def number_problem(value: Decimal | float | int) -> str | None:
    """Why a number must not be stored, or None: not finite, or too large."""
    if isinstance(value, int):
        return None if -MAX_MAGNITUDE < value < MAX_MAGNITUDE else "is out of range (|x| < 1e15)"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "is not a finite number"
        value = Decimal(value)
    if not value.is_finite():
        return "is not a finite number"
    # adjusted(): the exponent of the leading digit, so no arithmetic on a huge value (which
    # would raise decimal.Overflow) is needed to size it.
    if value and value.adjusted() >= MAX_DIGITS:
        return "is out of range (|x| < 1e15)"
    return None


def storable(value: Decimal) -> Decimal | str:
    """``value`` as it is stored (rounded half-even to MAX_SCALE decimals where it is finer, so
    1e-100000 is 0 rather than a 100,000-digit numeric), or why it cannot be."""
    if problem := number_problem(value):
        return problem
    # The quantize is a fifth of the time as_tuple() takes (0.1 against 0.5 us), which counts
    # with three or four numbers in every meter reading; it cannot fail: see _QUANTIZE.
    rounded = _QUANTIZE(value, _SCALE)
    return value if rounded == value else rounded.normalize(_NORMALIZE)


def int_problem(value: int, bounds: tuple[int, int] = INT32) -> str | None:
    low, high = bounds
    return None if low <= value <= high else f"is out of range ({low} to {high})"


def time_problem(
    at: datetime,
    *,
    now: datetime | None = None,
    max_future: timedelta,
    min_time: datetime = DEFAULT_MIN_TIME,
) -> str | None:
    """Why a device's time cannot be stored as such, or None. ``at`` must be aware."""
    now = now or datetime.now(UTC)
    if at < min_time:
        return f"is before {min_time:%Y-%m-%d} (is the device's clock set?)"
    if at > now + max_future:
        return f"is more than {max_future.total_seconds():.0f} s ahead of the server's clock"
    return None
