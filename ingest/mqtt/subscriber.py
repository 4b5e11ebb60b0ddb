"""The MQTT subscriber: paho's network thread feeds an asyncio consumer, which turns each message
into a Batch for the shared writer and acknowledges the message only once it is durable.

QoS 1 on a persistent MQTT 5 session: while we are stopped the broker queues our messages, and
anything received but not yet acknowledged when we stop is delivered again next time (the
natural keys make the second copy a no-op). Messages received and not yet acknowledged are
bounded by ``max_pending``: when the database falls behind, paho's thread waits and TCP pushes
back on the broker.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.mqtt import topics
from ingest.mqtt.config import MqttConfig
from ingest.mqtt.handler import Handler, Message
from ingest.mqtt.registry import Registry
from ingest.writer import BatchRefused, Writer

log = logging.getLogger(__name__)

RETRY_S = 1.0  # between attempts while the database is unreachable
STOP_WAIT_S = 10.0  # how long stopping waits for stores in flight


class Subscriber:
    def __init__(self, config: MqttConfig, database_url: str) -> None:
        self.config = config
        spool = Path(config.spool_path) if config.spool_path else None
        self.writer = Writer(database_url, spool_path=spool)
        self.registry = Registry(
            database_url, allow_unknown=config.allow_unknown_meters, ttl_s=config.registry_ttl_s
        )
        self.handler = Handler(
            self.registry, config.topic_prefix, timedelta(seconds=config.max_future_s)
        )
        self.ready = asyncio.Event()  # set once the broker has confirmed our subscriptions
        self.stored = 0  # messages acknowledged
        self._pending = threading.BoundedSemaphore(config.max_pending)
        self._closing = threading.Event()
        self._queue: asyncio.Queue[Message] = asyncio.Queue()  # bounded by _pending
        self._tasks: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = self._make_client()

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribe and store messages until ``stop`` is set; then finish what is in flight."""
        self._loop = asyncio.get_running_loop()
        await self.writer.start()
        self._client.connect_async(
            self.config.host, self.config.port, keepalive=30, clean_start=False,
            properties=self._connect_properties(),
        )  # fmt: skip
        self._client.loop_start()
        consumer = asyncio.create_task(self._consume(), name="wattline-mqtt-consumer")
        try:
            await stop.wait()
        finally:
            consumer.cancel()
            await asyncio.gather(consumer, return_exceptions=True)
            # Stores in flight finish and acknowledge; what is still queued, or still waiting
            # for the database after STOP_WAIT_S, was never acknowledged, so the broker
            # delivers it again next session.
            if self._tasks:
                _, late = await asyncio.wait(set(self._tasks), timeout=STOP_WAIT_S)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
            self._closing.set()
            self._client.disconnect()
            await asyncio.to_thread(self._client.loop_stop)
            await self.writer.stop()
            await self.registry.close()

    # -- paho's thread --

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=mqtt.MQTTv5,
        )
        client.manual_ack_set(True)
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 30)
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry_s
        # Lets the broker send this many unacknowledged messages, so commits can group them.
        props.ReceiveMaximum = min(self.config.max_pending, 65535)
        return props

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s (session present: %s)", self.config.url, flags.session_present)
        client.subscribe([(f, SubscribeOptions(qos=1)) for f in self._filters()])

    def _filters(self) -> list[str]:
        return topics.filters(self.config.topic_prefix, self.config.shared_group)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("subscriptions refused: %s", ", ".join(failed))
            return
        log.info("subscribed to %s", ", ".join(self._filters()))
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.ready.set)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        while not self._pending.acquire(timeout=0.5):
            if self._closing.is_set():
                return  # not acknowledged: delivered again next session
        msg = Message(message.topic, bytes(message.payload), message.mid, message.qos)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, msg)

    # -- the asyncio side --

    async def _consume(self) -> None:
        while True:
            msg = await self._queue.get()
            batch = await self._batch_for(msg)
            task = asyncio.create_task(self._store(msg, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _batch_for(self, msg: Message):
        while True:
            try:
                return await self.handler.batch_for(msg)
            except (psycopg.OperationalError, OSError) as exc:
                log.warning("meter registry unreachable (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)
            except Exception as exc:  # a bug must cost one message, never the process
                log.exception("could not handle a message on %s", msg.topic)
                return Handler.refused(msg, f"internal error: {exc!r}")

    async def _store(self, msg: Message, batch) -> None:
        refused_once = False
        while True:
            try:
                await self.writer.write(batch)
                break
            except BatchRefused as exc:
                if refused_once:
                    log.error("even the reject row for %s was refused: %s", msg.topic, exc)
                    break
                refused_once = True
                batch = Handler.refused(msg, f"refused by the database: {exc}")
            except Exception as exc:
                log.warning("database unreachable (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)
        self._client.ack(msg.mid, msg.qos)
        self._pending.release()
        self.stored += 1
