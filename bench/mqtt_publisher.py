"""A lean meter-fleet publisher for bench.mqtt_load: raw MQTT 3.1.1 over a few sockets, QoS 1,
open loop at a target rate of readings/s. paho spends tens of microseconds per publish in
Python, which on a small machine would take CPU from the subscriber being measured; here a
tick's messages are encoded with a few f-strings and written with one ``sendall`` per socket.

Every reading carries ``ts`` = the moment it is written to the socket (ms), so ``received_at -
time`` in the database is the publish → ingest lag. A meter never repeats a ``ts`` (the natural
key would drop the second reading and the count would no longer add up).

Run by bench.mqtt_load as ``python -m bench.mqtt_publisher ...``; prints one JSON line of
progress every half second on stdout and a last one with ``"done": true``.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time

PROGRESS_S = 0.5
TICK_S = 0.002  # how often the publisher checks what is due
MAX_INFLIGHT = 60_000  # per socket; packet ids are 16 bits


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(client_id: str) -> bytes:
    cid = client_id.encode()
    # protocol MQTT 3.1.1, clean session, keep-alive 0 (no pings needed for a bench)
    body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(cid).to_bytes(2, "big") + cid
    return b"\x10" + varint(len(body)) + body


def publish_packet(topic: bytes, mid: int, payload: bytes) -> bytes:
    body_len = 2 + len(topic) + 2 + len(payload)
    return b"".join(
        (b"\x32", varint(body_len), len(topic).to_bytes(2, "big"), topic, mid.to_bytes(2, "big"),
         payload)
    )  # fmt: skip


class Connection:
    """One broker connection; a thread counts the broker's PUBACKs."""

    def __init__(self, host: str, port: int, client_id: str) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(connect_packet(client_id))
        connack = self._read_exactly(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise SystemExit(f"broker refused the publisher: {connack!r}")
        self.sent = 0
        self.acked = 0
        self._mid = 0
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def next_mid(self) -> int:
        self._mid = self._mid % 65535 + 1
        return self._mid

    def _read_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def _read_acks(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            # Packets from the broker here are PUBACKs: 0x40, length 2, packet id.
            while len(buf) >= 2:
                length = buf[1]  # < 128 for every packet the broker sends us
                if len(buf) < 2 + length:
                    break
                if buf[0] == 0x40:
                    self.acked += 1
                buf = buf[2 + length :]

    def close(self) -> None:
        try:
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Fleet:
    """Meters' registers turning over: a third dual-rate (element A), a third prosumers that
    also export, the rest single-rate; each reading one JSON object, as a live meter sends."""

    def __init__(self, meters: int, prefix: str) -> None:
        self.topics = [f"{prefix}/BENCH{i:07d}/reading".encode() for i in range(meters)]
        self.element = ["A" if i % 3 == 1 else "SINGLE" for i in range(meters)]
        self.prosumer = [i % 3 == 2 for i in range(meters)]
        self.import_wh = [1000.0 + i for i in range(meters)]
        self.export_wh = [0.0] * meters
        self.last_ms = [0] * meters

    def record(self, i: int, ms: int) -> str:
        ms = max(ms, self.last_ms[i] + 1)  # never the same ts twice for one meter
        self.last_ms[i] = ms
        self.import_wh[i] += 0.7
        seconds, milli = divmod(ms, 1000)
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{milli:03d}Z"
        if self.prosumer[i]:
            self.export_wh[i] += 0.4
            return (
                f'{{"ts":"{ts}","element":"SINGLE","import_wh":{self.import_wh[i]:.1f},'
                f'"export_wh":{self.export_wh[i]:.1f},"import_w":840,"export_w":480}}'
            )
        return (
            f'{{"ts":"{ts}","element":"{self.element[i]}","import_wh":{self.import_wh[i]:.1f},'
            f'"export_wh":0,"import_w":840}}'
        )


def run(args: argparse.Namespace) -> None:
    conns = [
        Connection(args.host, args.port, f"{args.client_id}-{c}") for c in range(args.connections)
    ]
    fleet = Fleet(args.meters, args.prefix)
    per_message = args.records_per_message
    message_rate = args.rate / per_message
    total = int(args.rate * args.seconds) // per_message  # messages
    published = 0  # messages
    next_meter = 0
    start = time.monotonic()
    last_progress = 0.0

    def progress(done: float | None = None) -> None:
        line = {
            "t": time.time(),
            "messages": published,
            "readings": published * per_message,
            "acked_messages": sum(c.acked for c in conns),
        }
        if done is not None:
            line["done"] = True
            line["publish_seconds"] = done
        print(json.dumps(line), flush=True)

    progress()
    while published < total:
        now = time.monotonic()
        if now - start > args.seconds + 5:
            break  # could not keep up: stop at the deadline, report what went out
        due = min(total, int((now - start) * message_rate) + 1)
        if due > published:
            chunks: list[list[bytes]] = [[] for _ in conns]
            ms = int(time.time() * 1000)
            for _ in range(due - published):
                i = next_meter
                next_meter = (next_meter + 1) % args.meters
                conn_no = i % len(conns)
                conn = conns[conn_no]
                if per_message == 1:
                    payload = fleet.record(i, ms)
                else:  # a backlog: the meter's last readings, oldest first
                    records = (fleet.record(i, ms - per_message + j) for j in range(per_message))
                    payload = "[" + ",".join(records) + "]"
                chunks[conn_no].append(publish_packet(fleet.topics[i], conn.next_mid(),
                                                      payload.encode()))  # fmt: skip
                conn.sent += 1
            for conn, chunk in zip(conns, chunks, strict=True):
                if chunk:
                    while conn.sent - conn.acked > MAX_INFLIGHT:
                        time.sleep(0.001)  # packet ids would wrap onto unacknowledged ones
                    conn.sock.sendall(b"".join(chunk))
            published = due
        if now - last_progress >= PROGRESS_S:
            progress()
            last_progress = now
        time.sleep(TICK_S)
    publish_seconds = time.monotonic() - start
    # Wait for the broker to acknowledge everything sent.
    deadline = time.monotonic() + 30
    while sum(c.acked for c in conns) < published and time.monotonic() < deadline:
        time.sleep(0.05)
    progress(done=publish_seconds)
    for c in conns:
        c.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--prefix", required=True, help="topic prefix, e.g. bench-abc/meters")
    p.add_argument("--client-id", required=True)
    p.add_argument("--meters", type=int, default=1000)
    p.add_argument("--rate", type=float, default=10_000, help="readings/s")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--records-per-message", type=int, default=1)
    p.add_argument("--connections", type=int, default=4)
    args = p.parse_args()
    try:
        run(args)
    except KeyboardInterrupt:
        sys.exit(1)


if __name__ == "__main__":
    main()
