"""The MQTT subscriber: paho's client driven by the asyncio loop, a consumer that turns each
message into a Batch, and groups of messages written through the shared writer
(ingest.mqtt.group), acknowledged only once they are durable.

QoS 1 on a persistent MQTT 5 session: while we are stopped the broker queues our messages, and
anything received but not yet acknowledged when we stop is delivered again next time (the
natural keys make the second copy a no-op). Messages received and not yet acknowledged are
bounded by ``max_pending`` (our Receive Maximum) and ``max_pending_bytes``: when the database
falls behind we stop reading, the broker sends no more until we acknowledge and queues the
rest, up to its own limit (Mosquitto's max_queued_messages; beyond it, it drops messages).

paho runs on the event loop through its external-loop interface (loop_read, loop_write and
loop_misc on socket events) rather than in its own thread: with a thread, every message and
every acknowledgement crossed threads (a wake-up write to a socket each, and the GIL handed
back and forth), which nearly doubled the CPU each message cost in paho. The client is
ingest.mqtt.client.BufferedClient, paho's with its per-message reads and PUBLISH decoding made
cheaper.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.mqtt import topics
from ingest.mqtt.client import BufferedClient, secure
from ingest.mqtt.config import MqttConfig
from ingest.mqtt.group import Group
from ingest.mqtt.handler import Handler, Message
from ingest.mqtt.registry import Registry
from ingest.writer import Batch, BatchRefused, Writer
from wattline.observe import metrics

log = logging.getLogger(__name__)

RETRY_S = 1.0  # between attempts while the database is unreachable
# First and longest wait between attempts at a message the database refused even as a reject
# row (each attempt logs an error; the message stays unacknowledged meanwhile).
REFUSED_RETRY_S = (1.0, 60.0)
STOP_WAIT_S = 10.0  # how long stopping waits for stores in flight
# Groups written at once: while one commits, the next is already queued at the writer, and the
# messages arriving meanwhile gather into the one after.
GROUPS_IN_FLIGHT = 2
GROUP_GATHERS = 2000  # messages a group takes from a steady stream before it is written
READS_PER_WAKE = 500  # packets read per socket event before other tasks get a turn
MISC_S = 1.0  # keep-alive pings and reconnects are checked this often
RECONNECT_S = (1.0, 30.0)  # first and longest wait between attempts to reach the broker


class Subscriber:
    def __init__(self, config: MqttConfig, database_url: str) -> None:
        self.config = config
        spool = Path(config.spool_path) if config.spool_path else None
        self.writer = Writer(database_url, spool_path=spool)
        self.registry = Registry(
            database_url, allow_unknown=config.allow_unknown_meters, ttl_s=config.registry_ttl_s
        )
        self.handler = Handler(
            self.registry,
            config.topic_prefix,
            timedelta(seconds=config.max_future_s),
            config.min_time,
        )
        self.ready = asyncio.Event()  # set once the broker has confirmed our subscriptions
        self.stored = 0  # messages acknowledged
        self._pending = 0  # received, not yet acknowledged; at most max_pending
        self._pending_bytes = 0  # their payloads; reading pauses above max_pending_bytes
        self._reading: object | None = None  # the socket we are reading, None while paused
        self._received = 0  # PUBLISH packets seen, to tell when a read brought no message
        self._inbox: deque[Message] = deque()
        self._wake = asyncio.Event()  # a message arrived, or a group committed
        self._disconnected = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task] = set()  # groups being stored
        self._refused: set[asyncio.Task] = set()  # messages whose reject row was refused
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = self._make_client()
        metrics.watch(metrics.WINDOW_MESSAGES, lambda: self._pending)
        metrics.watch(metrics.WINDOW_BYTES, lambda: self._pending_bytes)
        metrics.watch(metrics.WINDOW_LIMIT, lambda: self.config.max_pending)
        metrics.fleet_ages("mqtt", lambda: self.handler.last_seen.values())

    async def run(self, stop: asyncio.Event) -> None:
        """Subscribe and store messages until ``stop`` is set; then finish what is in flight."""
        self._loop = asyncio.get_running_loop()
        await self.writer.start()
        self._client.connect_async(
            self.config.host, self.config.port, keepalive=30, clean_start=False,
            properties=self._connect_properties(),
        )  # fmt: skip
        network = asyncio.create_task(self._stay_connected(), name="wattline-mqtt-network")
        consumer = asyncio.create_task(self._consume_forever(), name="wattline-mqtt-consumer")
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
            # Messages refused even as reject rows stay unacknowledged: the broker delivers them
            # again next session, when they are tried again.
            for task in self._refused:
                task.cancel()
            await asyncio.gather(*self._refused, return_exceptions=True)
            network.cancel()
            await asyncio.gather(network, return_exceptions=True)
            await self._disconnect()
            await self.writer.stop()
            await self.registry.close()

    # -- the network --

    def _make_client(self) -> mqtt.Client:
        client = BufferedClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=mqtt.MQTTv5,
            on_publish_received=self._on_publish,
        )
        client.manual_ack_set(True)
        secure(client, self.config)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
        return client

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry_s
        # Lets the broker send this many unacknowledged messages, so commits can group them.
        props.ReceiveMaximum = min(self.config.max_pending, 65535)
        # The broker drops, rather than sends us, anything larger (MQTT 5 section 3.1.2.11.4).
        props.MaximumPacketSize = self.config.max_packet_bytes
        return props

    async def _stay_connected(self) -> None:
        """Connect, keep the connection alive, and reconnect with a growing wait when it is
        lost (what paho's own thread would do)."""
        wait = RECONNECT_S[0]
        while True:
            if self._client.socket() is None:
                try:
                    # A blocking TCP connect, bounded by paho's connect timeout (5 s), and only
                    # while there is no connection; commits in flight wait that long at most.
                    self._client.reconnect()
                    wait = RECONNECT_S[0]
                except ssl.SSLError as exc:
                    # Not a broker that is down: retrying will not help until the CA bundle,
                    # the broker's certificate or its name is put right.
                    log.error(
                        "TLS with MQTT broker %s failed: %s (WATTLINE_MQTT_CA=%s)",
                        self.config.safe_url, exc, self.config.ca_file or "the system's CAs",
                    )  # fmt: skip
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, RECONNECT_S[1])
                    continue
                except OSError as exc:
                    log.warning("MQTT broker %s unreachable (%s)", self.config.safe_url, exc)
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, RECONNECT_S[1])
                    continue
            self._client.loop_misc()  # keep-alive; closes the socket if the broker is gone
            await asyncio.sleep(MISC_S)

    async def _disconnect(self) -> None:
        self._stopping = True
        if self._client.socket() is None:
            return
        self._disconnected.clear()
        self._client.disconnect()  # queued after the last acknowledgements, written in order
        try:
            await asyncio.wait_for(self._disconnected.wait(), 5)
        except TimeoutError:
            log.warning("the broker did not see us disconnect")

    def _on_socket_open(self, client, userdata, sock) -> None:
        if not self._full():
            self._resume(sock)

    def _on_socket_close(self, client, userdata, sock) -> None:
        assert self._loop is not None
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)
        self._reading = None

    def _on_socket_register_write(self, client, userdata, sock) -> None:
        assert self._loop is not None
        self._loop.add_writer(sock, client.loop_write)

    def _on_socket_unregister_write(self, client, userdata, sock) -> None:
        assert self._loop is not None
        self._loop.remove_writer(sock)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self._stopping:
            log.warning("lost the MQTT broker (%s); reconnecting", reason_code)
        self._disconnected.set()

    def _readable(self) -> None:
        # loop_read handles one packet; read on while packets bring messages, so a burst does
        # not cost an event-loop round per message.
        if self._reading is None:
            return  # paused (or disconnected) since this was scheduled
        client = self._client
        for _ in range(READS_PER_WAKE):
            received = self._received
            if client.loop_read() != mqtt.MQTT_ERR_SUCCESS or self._reading is None:
                break
            if self._received == received and not client.buffered():
                return  # nothing complete to read: the loop calls us when the socket has more
        self._read_buffered()

    def _read_buffered(self) -> None:
        # Packets already read from the socket wait in the client's buffer, and the socket
        # will not signal them again: they are handled on the loop's next round.
        if self._reading is not None and self._client.buffered():
            assert self._loop is not None
            self._loop.call_soon(self._readable)

    def _pause(self) -> None:
        assert self._loop is not None
        if self._reading is not None:
            self._loop.remove_reader(self._reading)
            self._reading = None

    def _resume(self, sock=None) -> None:
        sock = sock or self._client.socket()
        if sock is not None and self._reading is None:
            assert self._loop is not None
            self._loop.add_reader(sock, self._readable)
            self._reading = sock
            self._read_buffered()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker refused the connection: %s", reason_code)
            return
        log.info(
            "connected to %s (session present: %s)", self.config.safe_url, flags.session_present
        )
        client.subscribe([(f, SubscribeOptions(qos=1)) for f in self._filters()])

    def _filters(self) -> list[str]:
        return topics.filters(self.config.topic_prefix, self.config.shared_group)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("subscriptions refused: %s", ", ".join(failed))
            return
        log.info("subscribed to %s", ", ".join(self._filters()))
        self.ready.set()

    def _on_publish(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        self._received += 1
        # Counted here, once: a message is handled again when the registry was away.
        metrics.mqtt_message(topic.rpartition("/")[2])
        msg = Message(topic, payload, mid, qos)
        self._inbox.append(msg)
        self._pending += 1
        self._pending_bytes += len(msg.payload)
        if self._full():
            self._pause()  # until acknowledgements make room
        self._wake.set()

    def _full(self) -> bool:
        return (
            self._pending >= self.config.max_pending
            or self._pending_bytes >= self.config.max_pending_bytes
        )

    # -- storing --

    async def _consume_forever(self) -> None:
        while True:
            try:
                await self._consume()
            except Exception:
                # A bug: the messages it held stay unacknowledged (the broker delivers them
                # again on the next connection), and the messages after them are stored.
                log.exception("the MQTT consumer failed; starting it again")
                await asyncio.sleep(RETRY_S)

    async def _consume(self) -> None:
        group = Group()
        inbox = self._inbox
        while True:
            # At most GROUP_GATHERS messages a group: after a pause in the database the inbox
            # may hold the whole receive window, which parsed at once would take several
            # times the memory and make one long transaction.
            take = min(GROUP_GATHERS - len(group), len(inbox))
            if take:
                received = [inbox.popleft() for _ in range(take)]
                for msg, batch in zip(received, await self._batches(received), strict=True):
                    group.add(msg, batch)
                if inbox and len(group) < GROUP_GATHERS:
                    continue  # more arrived while these were handled: they commit with them
            if group and len(self._tasks) < GROUPS_IN_FLIGHT:
                task = asyncio.create_task(self._store_group(group))
                self._tasks.add(task)
                task.add_done_callback(self._group_done)
                group = Group()
                continue
            await self._wake.wait()  # a message, or room for another group
            self._wake.clear()

    def _group_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._wake.set()  # what gathered meanwhile can go now

    async def _batches(self, messages: list[Message]) -> list[Batch]:
        while True:
            try:
                return await self.handler.batches(messages)
            except (psycopg.OperationalError, OSError) as exc:
                log.warning("meter registry unreachable (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)
            except Exception:
                if len(messages) == 1:
                    # A bug must cost one message, never the process.
                    log.exception("could not handle a message on %s", messages[0].topic)
                    return [Handler.refused(messages[0], "internal error in the meter lookup")]
                # The lookup for the group failed: one by one, only the message at fault fails.
                return [(await self._batches([msg]))[0] for msg in messages]

    async def _store_group(self, group: Group) -> None:
        """Store a group and acknowledge what is committed. Acknowledges nothing that is not:
        a message whose rows, or at least whose reject row, did not commit stays unacknowledged
        and is tried again (and delivered again by the broker should we stop meanwhile)."""
        try:
            while True:
                try:
                    await self.writer.write(group.batch)
                except BatchRefused:
                    # Something in one message was refused: write them one by one, so that
                    # only the bad one ends as a reject row.
                    parts = zip(group.messages, group.parts, strict=True)
                    await asyncio.gather(*(self._store_alone(m, b) for m, b in parts))
                    return
                except Exception as exc:
                    # The database is away, or the spool cannot take more: nothing is
                    # acknowledged, the group waits (and reading pauses once the window fills).
                    log.warning("could not store %d message(s) (%s); retrying", len(group), exc)
                    await asyncio.sleep(RETRY_S)
                    continue
                self._acknowledge(group.messages)
                return
        except Exception:  # a bug: the messages stay unacknowledged, the subscriber goes on
            log.exception("storing a group of %d message(s) failed", len(group))

    async def _store_alone(self, msg: Message, batch: Batch) -> None:
        try:
            if await self._store(msg, batch):
                self._acknowledge([msg])
                return
        except Exception as exc:
            log.warning("could not store a message on %s (%s); retrying", msg.topic, exc)
        # Tried again on its own, so the group and those after it need not wait for it.
        task = asyncio.create_task(self._retry(msg, batch))
        self._refused.add(task)
        task.add_done_callback(self._refused.discard)

    async def _store(self, msg: Message, batch: Batch) -> bool:
        """Commit the message's batch or, if the database refuses it, a reject row saying why.
        False if the reject row is refused too."""
        try:
            await self.writer.write(batch)
            return True
        except BatchRefused as exc:
            reason = f"refused by the database: {exc}"
        try:
            await self.writer.write(Handler.refused(msg, reason))
            return True
        except BatchRefused as exc:
            log.error(
                "a message on %s was refused (%s), and its reject row too (%s); it stays "
                "unacknowledged and is tried again",
                msg.topic, reason, exc,
            )  # fmt: skip
            return False

    async def _retry(self, msg: Message, batch: Batch) -> None:
        # The whole message again, not just its reject row: what refused it may have been
        # fixed meanwhile (a permission, a trigger), and then its records are stored too.
        wait = REFUSED_RETRY_S[0]
        while True:
            await asyncio.sleep(wait)
            try:
                if await self._store(msg, batch):
                    self._acknowledge([msg])
                    return
                wait = min(wait * 2, REFUSED_RETRY_S[1])
            except Exception as exc:  # unreachable: no refusal to back off from
                log.warning("could not store a message on %s (%s); retrying", msg.topic, exc)
                wait = RETRY_S

    def _acknowledge(self, messages: list[Message]) -> None:
        for msg in messages:
            self._client.ack(msg.mid, msg.qos)
        self.stored += len(messages)
        metrics.ACKS.inc(len(messages))
        self._pending -= len(messages)
        self._pending_bytes -= sum(len(m.payload) for m in messages)
        if not self._full():
            self._resume()
