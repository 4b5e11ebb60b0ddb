"""Every Prometheus metric a wattline process exports, in one registry.

Label values come from fixed sets (an OCPP action, an MQTT message kind, a reply's result, a
reject's reason class, a rollup name); anything outside them is counted as "other", so a
charger or a meter sending junk cannot grow the number of series. Figures that are a state
rather than an event (connections, spool, receive window, fleet ages) are read when scraped,
through ``watch``, so they are never stale and cost nothing between scrapes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes

OTHER = "other"
# OCPP 1.6 actions a charge point initiates (the only CALLs a central system receives).
OCPP_ACTIONS = frozenset(
    {
        "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
        "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
        "StatusNotification", "StopTransaction",
    }
)  # fmt: skip
MQTT_KINDS = frozenset({"reading", "balance", "health", "tariff", "event"})
# A CALLRESULT's status (BootNotification, idTagInfo, DataTransfer...), lower case.
STATUSES = frozenset({"accepted", "rejected", "pending", "blocked", "expired", "invalid",
                      "concurrenttx", "unknownmessageid", "unknownvendorid"})  # fmt: skip
# CALLERROR codes, as OCPP-J 1.6 spells them (ingest/ocpp/frames.py).
ERROR_CODES = frozenset(
    {
        "NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError",
        "FormationViolation", "PropertyConstraintViolation", "OccurenceConstraintViolation",
        "TypeConstraintViolation", "GenericError",
    }
)  # fmt: skip
# Rejects (ingest_rejects.reason is free text): the class of reason, first match wins.
REJECT_CLASSES = (
    ("stored at the server's receive time", "charger_time"),
    ("refused by the database", "database"),
    ("internal error", "internal"),
    ("unknown meter", "unknown_meter"),
    ("topic is not under", "topic"),
    ("unknown message kind", "topic"),
    ("bad meter serial", "topic"),
)
AGE_QUANTILES = ("0.5", "0.9", "1")  # "1": the longest

MESSAGES = Counter(
    "wattline_messages_received",
    "Messages received: OCPP CALLs by action, MQTT messages by topic kind; 'other' for the rest",
    ["source", "kind"],
    registry=REGISTRY,
)
REPLIES = Counter(
    "wattline_ocpp_replies",
    "Answers sent to charge points: a CALLRESULT's status (accepted when it has none) or a "
    "CALLERROR's code",
    ["result"],
    registry=REGISTRY,
)
ACKS = Counter(
    "wattline_mqtt_acknowledged",
    "MQTT messages acknowledged to the broker (each only once it is durable)",
    registry=REGISTRY,
)
REJECTS = Counter(
    "wattline_rejects",
    "Rows committed to ingest_rejects, by source and class of reason",
    ["source", "reason"],
    registry=REGISTRY,
)
COMMIT_SECONDS = Histogram(
    "wattline_writer_commit_seconds",
    "Time to commit one group of batches (one transaction), successful commits only",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
COMMIT_ROWS = Histogram(
    "wattline_writer_commit_rows",
    "Rows in one committed group (the batch size the group commit reaches)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000),
    registry=REGISTRY,
)
SPOOL_BYTES = Gauge(
    "wattline_spool_bytes", "Bytes in the spool not yet replayed", registry=REGISTRY
)
SPOOL_DOCUMENTS = Gauge(
    "wattline_spool_documents", "Batches in the spool not yet replayed", registry=REGISTRY
)
SPOOL_MAX_BYTES = Gauge(
    "wattline_spool_max_bytes", "The spool's cap (WATTLINE_SPOOL_MAX_BYTES)", registry=REGISTRY
)
WRITER_UP = Gauge("wattline_writer_up", "1 while the writer task runs, else 0", registry=REGISTRY)
DATABASE_AWAY = Gauge(
    "wattline_writer_database_away",
    "1 while the writer finds the database unreachable (and spools)",
    registry=REGISTRY,
)
CONNECTIONS = Gauge("wattline_ocpp_connections", "Charge points connected now", registry=REGISTRY)
LAST_SEEN_AGE = Gauge(
    "wattline_last_seen_age_seconds",
    "Seconds since each device was last heard from, over the fleet: the median, the 90th "
    "percentile and the longest (quantile 1). OCPP: connected charge points; MQTT: meters "
    "heard since the process started",
    ["source", "quantile"],
    registry=REGISTRY,
)
SILENT = Gauge(
    "wattline_devices_silent",
    "Devices of the fleet above not heard from for longer than WATTLINE_SILENT_AFTER_S",
    ["source"],
    registry=REGISTRY,
)
WINDOW_MESSAGES = Gauge(
    "wattline_mqtt_receive_window_messages",
    "MQTT messages received and not yet acknowledged (reading pauses at the limit)",
    registry=REGISTRY,
)
WINDOW_BYTES = Gauge(
    "wattline_mqtt_receive_window_bytes",
    "Payload bytes of the messages received and not yet acknowledged",
    registry=REGISTRY,
)
WINDOW_LIMIT = Gauge(
    "wattline_mqtt_receive_window_limit_messages",
    "The receive window (WATTLINE_MQTT_MAX_PENDING, our MQTT Receive Maximum)",
    registry=REGISTRY,
)
JOB_SECONDS = Histogram(
    "wattline_job_step_seconds",
    "Duration of each step of a `wattline jobs` pass",
    ["step"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
    registry=REGISTRY,
)
JOB_PASSES = Counter(
    "wattline_job_passes", "`wattline jobs` passes, by outcome", ["outcome"], registry=REGISTRY
)
JOB_LAST_SUCCESS = Gauge(
    "wattline_job_last_success_timestamp_seconds",
    "Unix time when the last successful jobs pass ended",
    registry=REGISTRY,
)
JOB_LAG = Gauge(
    "wattline_job_lag_seconds",
    "Seconds since the last successful jobs pass ended (since start, before the first)",
    registry=REGISTRY,
)
ROLLUP_LAG = Gauge(
    "wattline_rollup_refresh_lag_seconds",
    "How long changed data has waited for its rollup: timescale, seconds since the "
    "continuous aggregate's refresh policy last succeeded; postgres, age of the oldest change "
    "not refreshed yet (0: none pending)",
    ["rollup"],
    registry=REGISTRY,
)
ROLLUP_PENDING = Gauge(
    "wattline_rollup_pending_invalidations",
    "postgres profile: changed ranges logged and not refreshed yet, per rollup",
    ["rollup"],
    registry=REGISTRY,
)

API_RESPONSES = Counter(
    "wattline_api_responses",
    "HTTP API responses by status code (for `wattline api`: ``api_response``)",
    ["code"],
    registry=REGISTRY,
)

# Children resolved once: ``labels()`` per message cost 4 us, a dict look-up and ``inc`` 1 us.
_RECEIVED = {
    source: {kind: MESSAGES.labels(source, kind) for kind in (*kinds, OTHER)}
    for source, kinds in (("ocpp", OCPP_ACTIONS), ("mqtt", MQTT_KINDS))
}
_REPLIED = {result: REPLIES.labels(result) for result in (*STATUSES, *ERROR_CODES, OTHER)}

_started = time.time()
JOB_LAG.set_function(lambda: time.time() - (_last_success or _started))
_last_success: float | None = None


def bounded(value: Any, allowed: Iterable[str]) -> str:
    return value if isinstance(value, str) and value in allowed else OTHER


def ocpp_frame(direction: str, message: list | None) -> None:
    """Count a frame to or from a charge point (``message``: the parsed ``[type, id, ...]``,
    None if it is not an OCPP message)."""
    if direction == "in":
        if message is None:
            _received("ocpp", OTHER)
        elif message[0] == 2:
            _received("ocpp", message[2])
        return
    if message is None or message[0] == 2:
        return  # our own CALLs (operator commands) are not replies
    _REPLIED[reply_result(message)].inc()


def reply_result(message: list) -> str:
    if message[0] == 4:
        return bounded(message[2], ERROR_CODES)
    payload = message[2] if isinstance(message[2], dict) else {}
    status = payload.get("status")
    if status is None and isinstance(payload.get("idTagInfo"), dict):
        status = payload["idTagInfo"].get("status")
    if status is None:
        return "accepted"
    return bounded(str(status).lower(), STATUSES)


def api_response(status: int) -> None:
    API_RESPONSES.labels(str(status) if 100 <= status <= 599 else OTHER).inc()


def mqtt_message(kind: str | None) -> None:
    _received("mqtt", kind)


def _received(source: str, kind: Any) -> None:
    children = _RECEIVED[source]
    child = children.get(kind) if isinstance(kind, str) else None
    (child or children[OTHER]).inc()


def reject_class(reason: str) -> str:
    text = reason.lower()
    for needle, name in REJECT_CLASSES:
        if needle in text:
            return name
    return "payload"


def committed(rows: dict[str, list[tuple]], seconds: float) -> None:
    """A group the writer committed: its latency, its size, and the rejects it held
    (``ingest_rejects`` rows are ``(at, source, key, reason, raw, ...)``)."""
    COMMIT_SECONDS.observe(seconds)
    COMMIT_ROWS.observe(sum(map(len, rows.values())))
    for row in rows.get("ingest_rejects", ()):
        REJECTS.labels(bounded(row[1], ("ocpp", "mqtt")), reject_class(row[3])).inc()


def watch(gauge: Gauge, read: Callable[[], float]) -> None:
    """``gauge`` reads its value from ``read`` at each scrape (the latest caller wins: one
    process has one writer, one subscriber, one central system)."""
    gauge.set_function(read)


def silent_after_s() -> float:
    """WATTLINE_SILENT_AFTER_S: twice the heartbeat interval BootNotification gives (300 s)."""
    from wattline.settings import Settings  # here: settings import ingest, which imports us

    return Settings.from_env().silent_after_s


def fleet_ages(source: str, last_seen: Callable[[], Iterable[float]]) -> None:
    """Fleet-wide figures of ``last_seen`` (monotonic times, one per device): quantiles of
    the ages, and how many are silent for longer than WATTLINE_SILENT_AFTER_S."""
    silent_s = silent_after_s()

    def ages() -> list[float]:
        now = time.monotonic()
        return sorted(now - t for t in list(last_seen()))

    for q in AGE_QUANTILES:
        watch(LAST_SEEN_AGE.labels(source, q), lambda q=float(q): _quantile(ages(), q))
    watch(SILENT.labels(source), lambda: sum(age > silent_s for age in ages()))


def _quantile(values: list[float], q: float) -> float:
    """Nearest rank; 0 for an empty fleet."""
    if not values:
        return 0.0
    return values[max(0, math.ceil(q * len(values)) - 1)]


def job_pass(ok: bool) -> None:
    global _last_success
    JOB_PASSES.labels("ok" if ok else "failed").inc()
    if ok:
        _last_success = time.time()
        JOB_LAST_SUCCESS.set(_last_success)


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def watch_writer(writer) -> None:
    """The writer's state, read at each scrape (ingest/writer.py)."""

    def spool(attribute: str) -> Callable[[], float]:
        return lambda: getattr(writer.spool, attribute) if writer.spool is not None else 0

    watch(SPOOL_BYTES, spool("backlog_bytes"))
    watch(SPOOL_DOCUMENTS, spool("documents"))
    watch(SPOOL_MAX_BYTES, spool("max_bytes"))
    watch(WRITER_UP, lambda: writer.alive)
    watch(DATABASE_AWAY, lambda: writer.database_away)
