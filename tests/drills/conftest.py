"""Fault drills (issue 12): each drill creates what it breaks — a PostgreSQL cluster, a
Mosquitto, the ingest processes — and never touches the shared servers. One cluster and one
broker per test module; each test gets a database and a topic prefix of its own.

Every drill reports one line, ``acknowledged=N stored=N lost=N doubled=N``, printed with the
test (``-s``) and collected under "fault drills" at the end of the run."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from drill_ingest import Ingest
from mosquitto_broker import Broker, have_mosquitto

# bench/ is not an installed package; the cluster is shared with bench.outage_replay.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.ocpp_load import free_port  # noqa: E402
from bench.pg_cluster import Cluster  # noqa: E402

REPORT = pytest.StashKey[list[str]]()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        c.init()
        c.start()
        yield c
    finally:
        c.remove()


@pytest.fixture
def database(cluster: Cluster) -> str:
    if not cluster.running:  # an earlier drill of the module failed with it stopped
        cluster.start()
    return cluster.database()


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    if not have_mosquitto():
        pytest.skip("the drill needs mosquitto on PATH")
    b = Broker()
    try:
        b.start()
        yield b
    finally:
        b.remove()


@pytest.fixture
def live_broker(broker: Broker) -> Broker:
    if broker.proc is None or broker.proc.poll() is not None:
        broker.start()
    return broker


class Ingests:
    """Factory for the drill's `wattline ocpp` / `wattline mqtt` processes; every one still
    running at the end of the test is stopped."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.tag = uuid.uuid4().hex[:8]
        self.started: list[Ingest] = []

    def ocpp(self, database_url: str, spool: Path | None = None) -> Ingest:
        env = {
            "DATABASE_URL": database_url,
            "WATTLINE_OCPP_HOST": "127.0.0.1",
            "WATTLINE_OCPP_PORT": str(free_port()),
            "WATTLINE_OCPP_SPOOL": str(spool or self.workdir / "spool" / "ocpp.jsonl"),
            "WATTLINE_ALLOW_UNKNOWN_CHARGERS": "true",  # the drill's fleet is not registered
        }
        return self._add(Ingest("ocpp", env, self.workdir))

    def mqtt(self, database_url: str, broker: Broker, spool: Path | None = None) -> Ingest:
        env = {
            "DATABASE_URL": database_url,
            "MQTT_URL": broker.url,
            "WATTLINE_MQTT_CLIENT_ID": f"wattline-drill-{self.tag}",
            "WATTLINE_MQTT_TOPIC_PREFIX": self.topic_prefix,
            "WATTLINE_MQTT_SPOOL": str(spool or self.workdir / "spool" / "mqtt.jsonl"),
            "WATTLINE_ALLOW_UNKNOWN_METERS": "true",  # the drill's fleet is not registered
        }
        return self._add(Ingest("mqtt", env, self.workdir))

    @property
    def topic_prefix(self) -> str:
        return f"drill-{self.tag}/meters"

    def _add(self, ingest: Ingest) -> Ingest:
        self.started.append(ingest)
        return ingest

    def stop_all(self) -> None:
        for ingest in self.started:
            if ingest.alive():
                ingest.proc.kill()
                ingest.proc.wait(10)


@pytest.fixture
def ingests(tmp_path: Path) -> Iterator[Ingests]:
    made = Ingests(tmp_path)
    yield made
    made.stop_all()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    lines = request.config.stash.setdefault(REPORT, [])

    def say(line: str) -> None:
        line = f"{request.node.name}: {line}"
        lines.append(line)
        print(line)

    return say


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = config.stash.get(REPORT, [])
    if lines:
        terminalreporter.section("fault drills")
        for line in lines:
            terminalreporter.write_line(line)
