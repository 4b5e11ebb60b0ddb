"""Validation of meter payloads: bytes in, typed records and reasons for refusal out.

Pure functions, no I/O. A payload is one JSON object or a list of them; each record is checked
on its own, so one bad record in a meter's offline backlog does not cost the good ones. Numbers
are parsed as Decimal so energy and money stay exact. Whatever PostgreSQL would refuse is
refused here, with a reason (ingest.edge): found in the writer instead, it would fail the
commit of a whole group of messages, or block the spool's replay for every meter behind it.
What can only be judged on the whole payload (UTF-8, nesting depth, syntax) refuses the whole
payload; NaN/Infinity, NUL and lone surrogates refuse only the record holding them, so they
parse (NaN as a Decimal, escapes as they are) and are looked for record by record.
"""

from __future__ import annotations

import json
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ingest import edge
from ingest.clock import aware_time

ELEMENTS = ("SINGLE", "A", "B")
SEVERITIES = ("info", "warning", "error")
KINDS = ("reading", "balance", "health", "tariff", "event")
CSQ = (0, 31)  # the modem's signal quality scale (99 "unknown" is not stored)
MAX_RECORDS = 5000  # per message; a meter's day of 1-minute readings fits comfortably
TARIFF_FIELDS = (
    "standing_charge",
    "unit_rate_element_a",
    "unit_rate_element_b",
    "prepayment_ecredit_availability",
    "prepayment_debt_recovery_rate",
    "prepayment_emergency_credit",
)


MAX_DETAILS_CHARS = 65_536  # an event's details as JSON text: a few fields, never a document
# An activation time further ahead than this is a broken clock (and year 10000 would not read
# back); only the lower bound of the readings' window applies to it otherwise.
MAX_ACTIVATION_AHEAD = timedelta(days=100 * 366)

# One decoder for every payload: json.loads with these options builds a new JSONDecoder per
# call, which was a third of the time json.loads took in the subscriber's profile. Not
# edge.loads: it refuses a whole payload for one NaN, where only its record should go.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal, parse_constant=Decimal)
READING_FIELDS = frozenset({"ts", "element", "import_wh", "export_wh", "import_w", "export_w"})


class Invalid(ValueError):
    """A record that breaks the schema; the message is the reason stored in ingest_rejects."""


@dataclass(frozen=True)
class Reading:
    ts: datetime
    element: str
    import_wh: Decimal
    export_wh: Decimal
    import_w: Decimal | None
    export_w: Decimal | None


@dataclass(frozen=True)
class Balance:
    ts: datetime
    balance: Decimal
    emergency_credit: Decimal | None


@dataclass(frozen=True)
class Health:
    ts: datetime
    csq: int
    clock_time_diff_seconds: int
    voltage: Decimal | None


@dataclass(frozen=True)
class Tariff:
    """Active and/or future tariff; each is the seed's tariff JSON, normalised (see _tariff)."""

    ts: datetime
    active: dict[str, Any] | None
    future: dict[str, Any] | None


@dataclass(frozen=True)
class Event:
    ts: datetime
    event_type: str
    severity: str
    details: str | None  # JSON text, numbers exact


Record = Reading | Balance | Health | Tariff | Event


@dataclass
class Parsed:
    records: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse(
    kind: str,
    payload: bytes,
    now: datetime,
    max_future: timedelta,
    min_time: datetime = edge.DEFAULT_MIN_TIME,
) -> Parsed:
    """Every valid record of the payload, and one reason per invalid record (or for the whole
    payload when it is not JSON of the right shape). ``now`` is the server's time, aware;
    record times must lie in ``[min_time, now + max_future]``."""
    result = Parsed()
    try:
        text = payload.decode("utf-8")
        if text.startswith("\ufeff"):  # refused as json.loads refuses it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        edge.check_depth(text)
        doc = _DECODER.decode(text)
    except UnicodeDecodeError:
        result.errors.append("payload is not UTF-8")
        return result
    except edge.EdgeError as exc:
        result.errors.append(str(exc))
        return result
    except ValueError as exc:
        result.errors.append(f"bad JSON: {exc}")
        return result
    if isinstance(doc, list):
        items = doc
    elif isinstance(doc, dict):
        items = [doc]
    else:
        result.errors.append(f"a payload is a JSON object or a list of them, got {_type_name(doc)}")
        return result
    if not items:
        result.errors.append("empty list")
        return result
    if len(items) > MAX_RECORDS:
        result.errors.append(f"{len(items)} records in one message; at most {MAX_RECORDS}")
        return result
    check = _CHECKS[kind]
    # NUL and lone surrogates reach a str only through \u escapes (raw control characters are
    # bad JSON, and UTF-8 cannot carry a surrogate): without one, no string needs a look.
    escapes = "\\u" in text
    latest = now + max_future
    for i, item in enumerate(items, 1):
        try:
            if not isinstance(item, dict):
                raise Invalid(f"expected a JSON object, got {_type_name(item)}")
            if escapes:
                edge.check_strings(item)
            record = check(item)
            if not min_time <= record.ts <= latest:  # cheaper than asking for a problem
                problem = edge.time_problem(
                    record.ts, now=now, max_future=max_future, min_time=min_time
                )
                raise Invalid(f"ts {record.ts.isoformat()} {problem}")
            if kind == "tariff":
                _activation_times(record, now, min_time)
            result.records.append(record)
        except (Invalid, edge.EdgeError) as exc:
            where = f"record {i} of {len(items)}: " if isinstance(doc, list) else ""
            result.errors.append(f"{where}{exc}")
    return result


def _reading(d: dict) -> Reading:
    _known(d, READING_FIELDS)
    element = d.get("element", "SINGLE")
    if element not in ELEMENTS:
        raise Invalid(f"unknown element {element!r}; expected one of {', '.join(ELEMENTS)}")
    return Reading(
        ts=_ts(d),
        element=element,
        import_wh=_amount(d, "import_wh", required=True),
        export_wh=_amount(d, "export_wh") or Decimal(0),
        import_w=_amount(d, "import_w"),
        export_w=_amount(d, "export_w"),
    )


def _balance(d: dict) -> Balance:
    _known(d, {"ts", "balance", "emergency_credit"})
    # A balance below zero is real (emergency credit in use), so only finiteness is checked.
    balance = _number(d, "balance", required=True)
    return Balance(_ts(d), balance, _amount(d, "emergency_credit"))


def _health(d: dict) -> Health:
    _known(d, {"ts", "csq", "clock_time_diff_seconds", "voltage"})
    csq = _integer(d, "csq", CSQ)
    # integer columns: a drift beyond int32 (68 years) is a broken clock, not a measurement
    drift = _integer(d, "clock_time_diff_seconds")
    return Health(_ts(d), csq, drift, _amount(d, "voltage"))


def _tariff(d: dict) -> Tariff:
    _known(d, {"ts", "active", "future"})
    active, future = d.get("active"), d.get("future")
    if active is None and future is None:
        raise Invalid("a tariff message needs 'active', 'future' or both")
    return Tariff(_ts(d), _tariff_json(active, "active"), _tariff_json(future, "future"))


def _tariff_json(t: Any, name: str) -> dict[str, Any] | None:
    if t is None:
        return None
    if not isinstance(t, dict):
        raise Invalid(f"{name} must be an object, got {_type_name(t)}")
    try:
        _known(t, {*TARIFF_FIELDS, "activation_datetime"})
        out: dict[str, Any] = {}
        for key in TARIFF_FIELDS:
            required = key in ("standing_charge", "unit_rate_element_a")
            value = _amount(t, key, required=required)
            if value is not None:
                # JSONB keeps numbers; float keeps the shortest repr, e.g. 0.2843.
                out[key] = float(value)
        out["activation_datetime"] = _ts(t, "activation_datetime").isoformat()
    except Invalid as exc:
        raise Invalid(f"{name}: {exc}") from None
    return out


def _activation_times(tariff: Tariff, now: datetime, min_time: datetime) -> None:
    for name, t in (("active", tariff.active), ("future", tariff.future)):
        if t is not None:
            at = datetime.fromisoformat(t["activation_datetime"])
            if problem := edge.time_problem(
                at, now=now, max_future=MAX_ACTIVATION_AHEAD, min_time=min_time
            ):
                raise Invalid(f"{name}: activation_datetime {at.isoformat()} {problem}")


def _event(d: dict) -> Event:
    _known(d, {"ts", "type", "severity", "details"})
    event_type = d.get("type")
    if not isinstance(event_type, str) or not 1 <= len(event_type) <= 64:
        raise Invalid("type must be a string of 1-64 characters")
    severity = d.get("severity", "info")
    if severity not in SEVERITIES:
        raise Invalid(f"severity must be one of {', '.join(SEVERITIES)}")
    details = d.get("details")
    if details is not None and not isinstance(details, dict):
        raise Invalid(f"details must be an object, got {_type_name(details)}")
    return Event(_ts(d), event_type, severity, None if details is None else _details(details))


def _details(value: dict) -> str:
    """The details as JSON text for jsonb, which refuses what edge.number_problem refuses (and
    PostgreSQL's numeric arithmetic on them would overflow); strings were checked with the
    record. Decimals are written as the numbers they were."""
    text = json.dumps(value, default=_details_number, separators=(",", ":"))
    if len(text) > MAX_DETAILS_CHARS:
        raise Invalid(f"details take {len(text)} characters as JSON; at most {MAX_DETAILS_CHARS}")
    return text


def _details_number(v: Any) -> Any:
    if isinstance(v, Decimal):
        if problem := edge.number_problem(v):
            raise Invalid(f"a number in details {problem}")
        return int(v) if v == v.to_integral_value() else float(v)
    raise TypeError(type(v).__name__)


_CHECKS = {
    "reading": _reading,
    "balance": _balance,
    "health": _health,
    "tariff": _tariff,
    "event": _event,
}


def _known(d: dict, allowed: Set[str]) -> None:
    # Unknown fields are refused: a misspelt "import_kwh" must not pass as a reading of 0.
    if d.keys() <= allowed:
        return  # the usual case, without building a set
    extra = sorted(set(d) - allowed)
    raise Invalid(f"unknown field(s): {', '.join(extra)}")


def _ts(d: dict, key: str = "ts") -> datetime:
    value = d.get(key)
    if not isinstance(value, str):
        raise Invalid(f"{key} must be an ISO-8601 string, got {_type_name(value)}")
    try:
        return aware_time(value)
    except ValueError as exc:
        raise Invalid(f"{key} {exc}: {value!r}") from None


def _number(d: dict, key: str, *, required: bool = False) -> Decimal | None:
    value = d.get(key)
    if value is None:
        if required:
            raise Invalid(f"{key} is required")
        return None
    if not isinstance(value, Decimal):  # bool, str, list, ... (json gives Decimal for numbers)
        raise Invalid(f"{key} must be a number, got {_type_name(value)}")
    value = edge.storable(value)
    if isinstance(value, str):
        raise Invalid(f"{key} {value}")
    return value


def _amount(d: dict, key: str, *, required: bool = False) -> Decimal | None:
    value = _number(d, key, required=required)
    if value is not None and value < 0:
        raise Invalid(f"{key} must not be negative, got {value}")
    return value


def _integer(d: dict, key: str, bounds: tuple[int, int] = edge.INT32) -> int:
    value = _number(d, key, required=True)  # first: its size is checked before int() sees it
    if value != value.to_integral_value():
        raise Invalid(f"{key} must be a whole number, got {value}")
    if problem := edge.int_problem(int(value), bounds):
        raise Invalid(f"{key} {problem}")
    return int(value)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return "a number"
    return {str: "a string", bool: "a boolean", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )
