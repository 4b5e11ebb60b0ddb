"""A lean OCPP load generator (1.6-J or 2.0.1): many charge points on one asyncio loop, no
ocpp library.

Each charge point is an ``asyncio.Protocol`` with a hand-written WebSocket client: a fixed
handshake, and client frames masked with the all-zero key (valid per RFC 6455, and it makes
masking free). Replies are matched by their message-id prefix, not parsed as JSON. So the
generator spends its CPU on little more than the syscalls, and the server gets the machine.

The schedule is open-loop: message j of the run is due at ``start + j / rate`` on charge point
``j % N``, whatever the replies do. A charge point whose previous CALL is still unanswered holds
the next one back (OCPP allows one CALL in flight) and sends it on the reply; latency is always
measured from the message's due time, so a slow server is not hidden by a slowed-down client.

Run as a process by ``bench.ocpp_load``: it connects and boots its charge points, prints
``ready``, waits for ``go <unix time>`` on stdin, runs the schedule, and prints its result as one
JSON line. ``generate`` is the same thing in-process, for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field

VALUES_PER_MESSAGE = 4  # energy register, power, current, SoC: what ingest.ocpp.simulator sends
_HANDSHAKE = (
    "GET /ocpp/{identity} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp{version}\r\n\r\n"
)
_ZERO_MASK = b"\x00\x00\x00\x00"
_METER_VALUES = (
    '{{"connectorId":1,"meterValue":[{{"timestamp":"{}","sampledValue":['
    '{{"value":"{:.0f}","unit":"Wh"}},'
    '{{"value":"{:.2f}","measurand":"Power.Active.Import","unit":"kW"}},'
    '{{"value":"{:.1f}","measurand":"Current.Import","phase":"L1","unit":"A"}},'
    '{{"value":"{:.0f}","measurand":"SoC","location":"EV"}}]}}]}}'
)
# The same four readings as OCPP 2.0.1 sends them: numbers, units in unitOfMeasure.
_METER_VALUES_201 = (
    '{{"evseId":1,"meterValue":[{{"timestamp":"{}","sampledValue":['
    '{{"value":{:.0f},"unitOfMeasure":{{"unit":"Wh"}}}},'
    '{{"value":{:.2f},"measurand":"Power.Active.Import","unitOfMeasure":{{"unit":"kW"}}}},'
    '{{"value":{:.1f},"measurand":"Current.Import","phase":"L1","unitOfMeasure":{{"unit":"A"}}}},'
    '{{"value":{:.0f},"measurand":"SoC","location":"EV","unitOfMeasure":{{"unit":"Percent"}}}}'
    "]}}]}}"
)
BOOT = {
    "1.6": '{"chargePointVendor":"wattline-bench","chargePointModel":"loadgen"}',
    "2.0.1": '{"chargingStation":{"vendorName":"wattline-bench","model":"loadgen"},'
    '"reason":"PowerUp"}',
}
METER_VALUES = {"1.6": _METER_VALUES, "2.0.1": _METER_VALUES_201}


def client_frame(data: str | bytes, opcode: int = 0x1) -> bytes:
    """A final client frame with the all-zero mask key: the payload goes out unchanged."""
    payload = data.encode() if isinstance(data, str) else data
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return header + _ZERO_MASK + payload


def _iso_ms(unix_ms: int) -> str:
    seconds, ms = divmod(unix_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


@dataclass
class Stats:
    connected: int = 0
    booted: int = 0
    sent: int = 0
    acknowledged: int = 0
    call_errors: int = 0
    connect_errors: int = 0
    closed_early: int = 0
    unanswered: int = 0
    wall0: float = 0.0  # time.time() at perf0: turns due times into sample timestamps
    perf0: float = 0.0
    first_due: float = 0.0
    last_reply: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    boot_latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def error(self, kind: str, text: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:200])


class ChargePoint(asyncio.Protocol):
    def __init__(self, identity: str, stats: Stats, period_s: float, ocpp: str = "1.6") -> None:
        self.identity = identity
        self.ocpp = ocpp
        self.stats = stats
        self.period_h = period_s / 3600
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.booted: asyncio.Future | None = None
        self._buffer = bytearray()
        self._upgraded = False
        self._in_flight: tuple[bytes, float] | None = None  # (reply prefix, due time)
        self._backlog: deque[float] = deque()
        self._seq = 0
        self._last_ms = 0
        self._register_wh = 1_000_000.0
        self._soc = 20.0
        self.closed = False
        self.finished = False  # the run is over: what is still waiting counts as unanswered

    # -- the wire --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"{self.identity}: closed in handshake"))
        if not self.finished and (self._in_flight is not None or self._backlog):
            self.stats.error("closed_early", f"{self.identity}: connection lost ({exc})")

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                self.transport.close()
                return
            self._upgraded = True
            self.opened.set_result(None)
        while len(buf) >= 2:
            opcode, n, start = buf[0] & 0x0F, buf[1] & 0x7F, 2  # server frames are unmasked
            if n == 126:
                if len(buf) < 4:
                    return
                n, start = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + n:
                return
            payload = bytes(buf[start : start + n])
            del buf[: start + n]
            if opcode == 0x1:
                self._on_text(payload)
            elif opcode == 0x9:  # ping: answer, or the server drops us after its ping time-out
                self.transport.write(client_frame(payload, 0xA))
            elif opcode == 0x8:
                self.transport.close()

    # -- OCPP ------------------------------------------------------------------------------

    def boot(self) -> asyncio.Future:
        self.booted = asyncio.get_running_loop().create_future()
        self._send_call("BootNotification", BOOT[self.ocpp], time.perf_counter())
        return self.booted

    def due(self, at: float) -> None:
        """A MeterValues is due at ``at`` (perf_counter): send it, or hold it behind the CALL
        in flight."""
        if self.closed:
            self.stats.error("closed_early", f"{self.identity}: due while closed")
            return
        if self._in_flight is not None:
            self._backlog.append(at)
        else:
            self._send_meter_values(at)

    def _send_meter_values(self, at: float) -> None:
        # The sample time is the due time in ms, strictly increasing per charge point: the
        # server de-duplicates on (charger, connector, measurand, phase, location, time).
        unix_ms = int((self.stats.wall0 + at - self.stats.perf0) * 1000)
        if unix_ms <= self._last_ms:
            unix_ms = self._last_ms + 1
        self._last_ms = unix_ms
        power_kw = 7.4
        self._register_wh += power_kw * 1000 * self.period_h
        self._soc = self._soc + 0.01 if self._soc < 99 else 20.0
        payload = METER_VALUES[self.ocpp].format(
            _iso_ms(unix_ms), self._register_wh, power_kw, power_kw * 1000 / 230, self._soc
        )
        self.stats.sent += 1
        self._send_call("MeterValues", payload, at)

    def _send_call(self, action: str, payload: str, due: float) -> None:
        self._seq += 1
        message_id = str(self._seq)
        self._in_flight = (f'[3,"{message_id}"'.encode(), due)
        self.transport.write(client_frame(f'[2,"{message_id}","{action}",{payload}]'))

    def _on_text(self, text: bytes) -> None:
        now = time.perf_counter()
        if self._in_flight is None:
            self.stats.error("call_errors", f"{self.identity}: unexpected {text[:100]!r}")
            return
        prefix, due = self._in_flight
        self._in_flight = None
        latency_ms = (now - due) * 1000
        if self.booted is not None and not self.booted.done():
            if text.startswith(prefix):
                self.stats.boot_latencies_ms.append(latency_ms)
                self.booted.set_result(None)
            else:
                self.booted.set_exception(ConnectionError(f"boot refused: {text[:200]!r}"))
        elif text.startswith(prefix):
            self.stats.acknowledged += 1
            self.stats.latencies_ms.append(latency_ms)
            self.stats.last_reply = now
        else:
            self.stats.error("call_errors", f"{self.identity}: {text.decode(errors='replace')}")
        if self._backlog:
            self._send_meter_values(self._backlog.popleft())

    @property
    def waiting(self) -> int:
        return (self._in_flight is not None) + len(self._backlog)


async def _open(
    host: str,
    port: int,
    identities: list[str],
    stats: Stats,
    period_s: float,
    parallel: int,
    ocpp: str = "1.6",
) -> list[ChargePoint]:
    """Connect and boot every charge point, ``parallel`` handshakes at a time."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(parallel)
    chargers: list[ChargePoint] = []

    async def one(identity: str) -> None:
        async with gate:
            cp = ChargePoint(identity, stats, period_s, ocpp)
            try:
                await loop.create_connection(lambda: cp, host, port)
                handshake = _HANDSHAKE.format(identity=identity, host=host, port=port, version=ocpp)
                cp.transport.write(handshake.encode())
                await asyncio.wait_for(cp.opened, 30)
                stats.connected += 1
                await asyncio.wait_for(cp.boot(), 30)
                stats.booted += 1
                chargers.append(cp)
            except (OSError, ConnectionError, TimeoutError) as exc:
                stats.error("connect_errors", f"{identity}: {exc!r}")
                if cp.transport is not None:
                    cp.transport.close()

    await asyncio.gather(*(one(i) for i in identities))
    chargers.sort(key=lambda c: c.identity)
    return chargers


async def _run_schedule(
    chargers: list[ChargePoint], rate: float, seconds: float, stats: Stats, drain_s: float
) -> None:
    total = int(rate * seconds)
    start = time.perf_counter()
    stats.first_due = start
    n, sent = len(chargers), 0
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        for j in range(sent, due):
            chargers[j % n].due(start + j / rate)
        sent = due
        # Wake for the next due message, but no more often than every 2 ms: at high rates a
        # tick sends a handful, which keeps the loop's own overhead per message small.
        await asyncio.sleep(max(0.002, start + sent / rate - time.perf_counter()))
    deadline = time.perf_counter() + drain_s
    while any(c.waiting for c in chargers) and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    stats.unanswered = sum(c.waiting for c in chargers if not c.closed)


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def raise_open_file_limit(wanted: int) -> None:
    """2,000+ sockets need more than the usual soft limit of 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


async def generate(
    host: str,
    port: int,
    *,
    chargers: int,
    rate: float,
    seconds: float,
    prefix: str = "LOAD",
    first: int = 0,
    parallel: int = 100,
    drain_s: float = 10.0,
    go=None,
    ocpp: str = "1.6",
) -> dict:
    """Connect, boot, run the schedule; the result as a dict. ``go`` (an async callable) is
    awaited between booting and the schedule, for a coordinator to start several at once."""
    raise_open_file_limit(chargers + 256)
    stats = Stats()
    stats.wall0, stats.perf0 = time.time(), time.perf_counter()
    period_s = chargers / rate
    identities = [f"{prefix}-{i:06d}" for i in range(first, first + chargers)]
    cpu0, opening = _cpu_s(), time.perf_counter()
    cps = await _open(host, port, identities, stats, period_s, parallel, ocpp)
    connect_s = time.perf_counter() - opening
    if go is not None:
        await go()
    cpu1 = _cpu_s()
    await _run_schedule(cps, rate * len(cps) / chargers if cps else 0, seconds, stats, drain_s)
    cpu2 = _cpu_s()
    for cp in cps:
        cp.finished = True
        cp.transport.write(client_frame((1000).to_bytes(2, "big"), 0x8))  # close 1000
        cp.transport.close()
    result = asdict(stats)
    result.update(
        chargers=chargers,
        offered=int(rate * len(cps) / chargers * seconds) if cps else 0,
        seconds=seconds,
        window_s=max(seconds, stats.last_reply - stats.first_due) if stats.last_reply else 0.0,
        connect_s=connect_s,
        connect_cpu_s=cpu1 - cpu0,
        cpu_s=cpu2 - cpu1,
        values_per_message=VALUES_PER_MESSAGE,
    )
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--chargers", type=int, required=True)
    p.add_argument("--first", type=int, default=0, help="number of the first charge point")
    p.add_argument("--rate", type=float, required=True, help="MeterValues/s from this process")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--prefix", default="LOAD")
    p.add_argument("--ocpp", choices=sorted(BOOT), default="1.6")
    args = p.parse_args()

    async def go() -> None:
        print("ready", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        start_at = float(line.split()[1])
        await asyncio.sleep(max(0.0, start_at - time.time()))

    result = asyncio.run(
        generate(
            args.host,
            args.port,
            chargers=args.chargers,
            rate=args.rate,
            seconds=args.seconds,
            prefix=args.prefix,
            first=args.first,
            ocpp=args.ocpp,
            go=go,
        )
    )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
