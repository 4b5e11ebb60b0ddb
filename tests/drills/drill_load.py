"""The drills' steady load: chargers sending MeterValues to a `wattline ocpp` and meters
publishing readings for a `wattline mqtt`, each at 1 / ``interval_s`` messages a second, until
``finish`` drains what they still hold and counts what was stored."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import drill_tally
from drill_chargers import Fleet
from drill_meters import Meters
from drill_tally import Tally

DEVICES = 5
INTERVAL_S = 0.1


class Load:
    def __init__(
        self,
        name: str,
        *,
        ocpp_port: int | None = None,
        broker_port: int | None = None,
        topic_prefix: str = "meters",
        devices: int = DEVICES,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self.interval_s = interval_s
        # An hour ago, to the second: every message's time is a natural key of its own.
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self.fleet = Fleet(name, devices, ocpp_port, t0) if ocpp_port else None
        self.meters = None
        if broker_port:
            serials = [f"{name}{i:04d}" for i in range(devices)]
            self.meters = Meters(broker_port, topic_prefix, serials, t0)
        self._publisher: asyncio.Task | None = None
        self.unconfirmed_publishes = 0

    def start(self) -> None:
        if self.fleet:
            self.fleet.start(self.interval_s)
        if self.meters:
            self._publisher = asyncio.create_task(self._publish())

    async def _publish(self) -> None:
        assert self.meters is not None
        while True:
            self.meters.publish_round()
            await asyncio.sleep(self.interval_s)

    async def finish(self, timeout_s: float = 30.0) -> None:
        """Stop producing; wait until chargers have sent their queues and the broker has
        acknowledged every reading (or ``timeout_s`` has passed)."""
        if self._publisher:
            self._publisher.cancel()
        if self.fleet:
            await self.fleet.finish(timeout_s)
        if self.meters:
            self.unconfirmed_publishes = await asyncio.to_thread(
                self.meters.wait_acknowledged, timeout_s
            )
            self.meters.close()

    async def tally(
        self, database: str, timeout_s: float = 30.0
    ) -> tuple[Tally, Tally | None, Tally | None]:
        """The total, then OCPP's and MQTT's tallies, once what was acknowledged is stored (or
        ``timeout_s`` has passed)."""
        fleet, meters = self.fleet, self.meters
        counts = []
        if fleet:
            counts.append(lambda: drill_tally.ocpp(database, fleet))
        if meters:
            counts.append(lambda: drill_tally.mqtt(database, meters))
        tallies = await drill_tally.settled(*counts, timeout_s=timeout_s)
        ocpp = tallies.pop(0) if fleet else None
        mqtt = tallies.pop(0) if meters else None
        parts = [t for t in (ocpp, mqtt) if t]
        total = parts[0] if len(parts) == 1 else parts[0] + parts[1]
        return total, ocpp, mqtt


async def started(ingests, database: str, broker, name: str, ocpp=None, mqtt=None):
    """Both ingests (made here unless given) started on ``database`` and ``broker``, and a load
    for them (not started yet)."""
    ocpp = ocpp or ingests.ocpp(database)
    mqtt = mqtt or ingests.mqtt(database, broker)
    await asyncio.gather(asyncio.to_thread(ocpp.start), asyncio.to_thread(mqtt.start))
    load = Load(name, ocpp_port=ocpp.port, broker_port=broker.port,
                topic_prefix=ingests.topic_prefix)  # fmt: skip
    return ocpp, mqtt, load


def detail(ocpp: Tally | None, mqtt: Tally | None) -> str:
    parts = [f"{name} {t.line()}" for name, t in (("ocpp", ocpp), ("mqtt", mqtt)) if t]
    return "; ".join(parts)
