"""/healthz and /readyz of real `wattline ocpp` and `wattline mqtt` processes while what they
check breaks: the writer task ends, the drill's own PostgreSQL stops and starts again, the
spool reaches its cap (never the shared servers)."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta

import pytest
from drill_ingest import Ingest
from websockets.sync.client import connect

from bench.ocpp_load import free_port
from tests.observed import check, get, until

pytestmark = pytest.mark.drill

OK = (200, {"status": "ok"})
WRITER_GONE = (503, {"status": "failing", "problems": ["the writer task is not running"]})


def http_port(ingest: Ingest) -> int:
    """Where the process answers /healthz: the OCPP port itself, or mqtt's side server."""
    if ingest.kind == "ocpp":
        return ingest.port
    return int(ingest.env["WATTLINE_MQTT_HTTP_PORT"])


def started(ingests, kind: str, database: str, broker, **env: str) -> Ingest:
    ingest = ingests.ocpp(database) if kind == "ocpp" else ingests.mqtt(database, broker)
    if kind == "mqtt":
        ingest.env["WATTLINE_MQTT_HTTP_PORT"] = str(free_port())
    ingest.env.update(env)
    ingest.start()
    return ingest


@pytest.fixture(params=["ocpp", "mqtt"])
def kind(request, broker) -> str:
    return request.param


def problems(ingest: Ingest) -> list[str]:
    status, body = check(http_port(ingest), "/readyz")
    return [] if status == 200 else [p.split(" (")[0].split(":")[0] for p in body["problems"]]


def test_healthz_fails_once_the_writer_task_has_ended(ingests, database, live_broker, kind):
    # Lingering, the process answers 503 until told to stop, instead of exiting at once.
    ingest = started(ingests, kind, database, live_broker, WATTLINE_HEALTH_LINGER_S="600")
    port = http_port(ingest)
    assert check(port, "/healthz") == OK
    assert check(port, "/readyz") == OK
    ingest.proc.send_signal(signal.SIGUSR2)  # the drill aid: the writer task ends
    until(lambda: check(port, "/healthz") == WRITER_GONE, "/healthz 503, writer gone")
    assert "wattline_writer_up 0.0" in get(port, "/metrics")[1]
    ingest.stop()
    assert ingest.exit_codes == [70]  # EX_SOFTWARE: the supervisor restarts it


def test_readyz_follows_the_database_away_and_back(ingests, cluster, database, live_broker):
    ocpp = started(ingests, "ocpp", database, live_broker)
    mqtt = started(ingests, "mqtt", database, live_broker)
    for ingest in (ocpp, mqtt):
        assert check(http_port(ingest), "/readyz") == OK
    cluster.stop()
    for ingest in (ocpp, mqtt):
        until(lambda i=ingest: problems(i) == ["database unreachable"], f"{ingest.kind} not ready")
        # Still alive: it spools meanwhile, nothing to restart.
        assert check(http_port(ingest), "/healthz") == OK
    cluster.start()
    for ingest in (ocpp, mqtt):
        until(lambda i=ingest: check(http_port(i), "/readyz") == OK, f"{ingest.kind} ready again")


def meter_values(message_id: str, samples: int) -> str:
    now = datetime.now(UTC)
    values = [
        {"timestamp": (now - timedelta(minutes=m)).isoformat(), "sampledValue": [{"value": "9"}]}
        for m in range(samples)
    ]
    return json.dumps([2, message_id, "MeterValues", {"connectorId": 1, "meterValue": values}])


def test_readyz_fails_while_the_spool_is_at_its_cap(ingests, cluster, database, live_broker):
    ocpp = started(ingests, "ocpp", database, live_broker, WATTLINE_SPOOL_MAX_BYTES="5000")
    with connect(f"ws://127.0.0.1:{ocpp.port}/ocpp/CP-FULL", subprotocols=["ocpp1.6"]) as ws:
        ws.send('[2, "hb", "Heartbeat", {}]')
        assert json.loads(ws.recv(10))[:2] == [3, "hb"]  # known now, while the database is up
        cluster.stop()
        ws.send(meter_values("big", 40))  # about 7 kB for the spool: over its 5000 bytes
        answer = json.loads(ws.recv(30))
        assert answer[:3] == [4, "big", "InternalError"] and "storage is full" in answer[3]
        assert problems(ocpp) == ["database unreachable", "the spool is full"]
        cluster.start()
        until(lambda: check(ocpp.port, "/readyz") == OK, "ready once the database is back")
        ws.send(meter_values("again", 40))
        assert json.loads(ws.recv(30))[:2] == [3, "again"]
