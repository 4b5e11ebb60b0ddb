"""MQTT ingest under load: meter readings/s end-to-end, publisher → Mosquitto → `wattline mqtt`
→ PostgreSQL, at an open-loop target rate, with the subscriber's memory sampled over the run.

The subscriber is the real CLI (`python -m wattline.cli mqtt`) in its own process, on a fresh
database and a topic prefix and MQTT session of its own (removed from the broker afterwards);
the publisher (bench.mqtt_publisher) is another process. Rows stored are followed through
PostgreSQL's insert counter for the table, the freshness of what is committed through the
newest committed reading's ``time`` (stamped at publish), and at the end the rows are counted
exactly and must equal the readings the broker acknowledged to the publisher.

Run: .venv/bin/python -m bench.mqtt_load [--meters 1000] [--rate 10000] [--seconds 600]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.common import connect, fresh_database, machine, table

MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
POLL_S = 1.0  # database progress
RSS_EVERY_S = 10.0
DRAIN_IDLE_S = 20.0  # give up waiting for the last rows after this long without progress
MOSQUITTO_LOG = Path("/var/log/mosquitto/mosquitto.log")
TICK = os.sysconf("SC_CLK_TCK")

# The insert counter of the table; cheap at any table size, unlike count(*). PostgreSQL
# publishes a backend's counters within about a second of its transaction.
INSERTED = """SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables
               WHERE schemaname = 'wattline' AND relname = 'register_readings'"""
# Only rows newer than the last answer are read (BRIN on time), so this stays cheap too.
COUNT = "SELECT count(*) FROM wattline.register_readings"
NEWEST = "SELECT max(time) FROM wattline.register_readings WHERE time >= %(since)s"


@dataclass
class Run:
    """What one load run measured."""

    label: str
    target_rate: float
    seconds: float
    records_per_message: int
    subscribers: int
    published_messages: int = 0
    published_readings: int = 0
    acked_messages: int = 0
    publish_seconds: float = 0.0
    stored: int = 0  # rows counted exactly at the end
    rejects: int = 0
    end_to_end_seconds: float = 0.0  # first publish → last row committed
    freshness_s: list[float] = field(default_factory=list)  # now - newest committed reading
    backlog: list[int] = field(default_factory=list)  # readings published, not yet committed
    received_lag_ms: tuple[float, float, float] | None = None  # p50, p99, max
    rss_kb: list[list[int]] = field(default_factory=list)  # per subscriber, every RSS_EVERY_S
    cpu_s: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0  # the measured span, publisher start to the end of the drain
    machine_busy_s: float = 0.0  # CPU seconds the whole machine spent over wall_s
    broker_dropped: int = 0  # Mosquitto's "messages are being dropped" warnings

    @property
    def stored_rate(self) -> float:
        return self.stored / self.end_to_end_seconds if self.end_to_end_seconds else 0.0

    @property
    def ok(self) -> bool:
        return self.stored == self.published_readings and self.acked_messages == (
            self.published_messages
        )


# -- processes --


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def machine_busy() -> float:
    """CPU seconds spent by every process on the machine so far (all cores)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICK  # all but idle and iowait


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def mosquitto_pid() -> int | None:
    try:
        return int(Path("/run/mosquitto/mosquitto.pid").read_text())
    except (OSError, ValueError):
        pass
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "mosquitto":
                    return int(proc.name)
            except OSError:
                continue
    return None


def backend_pids(url: str) -> list[int]:
    """PostgreSQL backends serving the benchmark database (the subscribers' connections)."""
    with connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [r[0] for r in rows]


def start_subscribers(url: str, prefix: str, client_ids: list[str], group: str | None, logdir):
    procs = []
    for client_id in client_ids:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "MQTT_URL": f"mqtt://{MQTT_HOST}:{MQTT_PORT}",
            "WATTLINE_MQTT_TOPIC_PREFIX": prefix,
            "WATTLINE_MQTT_CLIENT_ID": client_id,
            "WATTLINE_ALLOW_UNKNOWN_METERS": "true",  # the fleet is not registered
        }
        args = [sys.executable, "-m", "wattline.cli", "mqtt"]
        if group:
            args += ["--shared-group", group]
        log = open(Path(logdir) / f"{client_id}.log", "w+b")  # noqa: SIM115 (closed with the process)
        procs.append((subprocess.Popen(args, env=env, stderr=log, stdout=log), log))
    deadline = time.monotonic() + 30
    for proc, log in procs:
        while b"subscribed to" not in Path(log.name).read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"subscriber did not start:\n{Path(log.name).read_text()}")
            time.sleep(0.1)
    return procs


def stop_subscribers(procs) -> None:
    for proc, _ in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc, log in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def forget_session(client_id: str) -> None:
    """Remove a subscriber's persistent session from the broker: a clean start with a session
    that expires on disconnect replaces it, queued messages and all."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)  # fmt: skip
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    try:
        client.connect(MQTT_HOST, MQTT_PORT, clean_start=True, properties=props)
        client.loop_start()
        time.sleep(0.2)
        client.disconnect()
        client.loop_stop()
    except OSError as exc:
        print(f"could not remove MQTT session {client_id}: {exc}", file=sys.stderr)


class PublisherProcess:
    """bench.mqtt_publisher in its own process; its progress lines are read by a thread."""

    def __init__(self, prefix: str, client_id: str, meters: int, rate: float, seconds: float,
                 records_per_message: int, connections: int) -> None:  # fmt: skip
        args = [
            sys.executable, "-m", "bench.mqtt_publisher", "--host", MQTT_HOST,
            "--port", str(MQTT_PORT), "--prefix", prefix, "--client-id", client_id,
            "--meters", str(meters), "--rate", str(rate), "--seconds", str(seconds),
            "--records-per-message", str(records_per_message),
            "--connections", str(connections),
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        self.lines: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    @property
    def done(self) -> bool:
        return bool(self.lines) and self.lines[-1].get("done", False)

    def published(self) -> int:
        return self.lines[-1]["readings"] if self.lines else 0


# -- one run --


def measure(url: str, *, meters: int, rate: float, seconds: float, records_per_message: int = 1,
            subscribers: int = 1, connections: int = 4, label: str = "",
            quiet: bool = False) -> Run:  # fmt: skip
    """Publish ``rate`` readings/s for ``seconds`` through the broker into ``url`` (migrated,
    empty), wait until everything published is stored or progress stops, and measure."""
    run = Run(label, rate, seconds, records_per_message, subscribers)
    tag = uuid.uuid4().hex[:10]
    prefix = f"bench-{tag}/meters"
    client_ids = [f"wattline-bench-{tag}-{i}" for i in range(subscribers)]
    group = f"bench-{tag}" if subscribers > 1 else None
    mosq = mosquitto_pid()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="wattline-bench-mqtt-") as logdir:
        log_start = _log_size()
        subs = start_subscribers(url, prefix, client_ids, group, logdir)
        pub = None
        try:
            pids = [p.pid for p, _ in subs]
            cpu0 = {pid: cpu_seconds(pid) for pid in pids}
            mosq0 = cpu_seconds(mosq) if mosq else 0.0
            backends0 = {pid: cpu_seconds(pid) for pid in backend_pids(url)}
            run.rss_kb = [[rss_kb(pid)] for pid in pids]
            children0 = _children_cpu()
            busy0, wall0 = machine_busy(), time.monotonic()
            pub = PublisherProcess(prefix, f"wattline-bench-pub-{tag}", meters, rate, seconds,
                                   records_per_message, connections)  # fmt: skip
            t0 = time.time()
            newest = None
            next_rss = time.monotonic() + RSS_EVERY_S
            last_count, last_exact, last_change = -1, -1, time.monotonic()
            with connect(url, autocommit=True) as conn:
                while True:
                    time.sleep(POLL_S)
                    now = time.time()
                    inserted = conn.execute(INSERTED).fetchone()[0]
                    conn.execute("SELECT pg_stat_clear_snapshot()")
                    since = newest or datetime.fromtimestamp(t0, UTC)
                    newest = conn.execute(NEWEST, {"since": since}).fetchone()[0] or newest
                    published = pub.published()
                    if newest is not None and not pub.done:
                        run.freshness_s.append(max(0.0, now - newest.timestamp()))
                    if not pub.done:
                        run.backlog.append(max(0, published - inserted))
                    if time.monotonic() >= next_rss:
                        for samples, pid in zip(run.rss_kb, pids, strict=True):
                            samples.append(rss_kb(pid))
                        next_rss += RSS_EVERY_S
                        say(f"  {now - t0:6.0f} s  published {published:,}  stored {inserted:,}"
                            f"  RSS {[s[-1] // 1024 for s in run.rss_kb]} MB")  # fmt: skip
                    moving, last_count = inserted != last_count, inserted
                    if moving:
                        last_change = time.monotonic()
                    if pub.done and (inserted >= published or not moving):
                        # The insert counter trails by up to 10 s once the writer goes idle,
                        # so the end is decided by an exact count, taken only when the counter
                        # says done or has stopped moving (a count of millions of rows is not
                        # free, and the drain must not compete with the subscriber).
                        exact = conn.execute(COUNT).fetchone()[0]
                        if exact >= published:
                            break
                        if exact != last_exact:
                            last_exact, last_change = exact, time.monotonic()
                    if pub.done and time.monotonic() - last_change > DRAIN_IDLE_S:
                        say("  no progress: giving up waiting for the rest")
                        break
                    if any(p.poll() is not None for p, _ in subs):
                        raise RuntimeError("a subscriber exited during the run")
                    if pub.proc.poll() not in (None, 0):
                        raise RuntimeError(f"the publisher failed (exit {pub.proc.returncode})")
            pub.proc.wait(60)
            for samples, pid in zip(run.rss_kb, pids, strict=True):
                samples.append(rss_kb(pid))
            run.machine_busy_s = machine_busy() - busy0
            run.wall_s = time.monotonic() - wall0
            run.cpu_s = {
                "subscriber": sum(cpu_seconds(pid) - cpu0[pid] for pid in pids),
                "publisher": _children_cpu() - children0,
                "mosquitto": (cpu_seconds(mosq) - mosq0) if mosq else float("nan"),
                "postgres": sum(cpu_seconds(pid) - backends0.get(pid, 0.0)
                                for pid in backend_pids(url)),
            }  # fmt: skip
        finally:
            if pub is not None and pub.proc.poll() is None:
                pub.proc.kill()
                pub.proc.wait()
            stop_subscribers(subs)
            for client_id in client_ids:
                forget_session(client_id)
        final = pub.lines[-1]
        start = pub.lines[0]["t"]  # printed as publishing starts
        run.published_messages = final["messages"]
        run.published_readings = final["readings"]
        run.acked_messages = final["acked_messages"]
        run.publish_seconds = final.get("publish_seconds", 0.0)
        run.broker_dropped = _dropped_lines(client_ids, log_start)
    with connect(url, autocommit=True) as conn:
        run.stored, last_row = conn.execute(
            "SELECT count(*), max(received_at) FROM wattline.register_readings"
        ).fetchone()
        # received_at is stamped as the subscriber handles a message, a few ms before its commit.
        run.end_to_end_seconds = last_row.timestamp() - start if last_row else 0.0
        run.rejects = conn.execute("SELECT count(*) FROM wattline.ingest_rejects").fetchone()[0]
        if records_per_message == 1:
            lag = conn.execute(
                "SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY l), max(l)"
                "  FROM (SELECT extract(epoch FROM received_at - time) * 1000 AS l"
                "          FROM wattline.register_readings) x"
            ).fetchone()
            run.received_lag_ms = (lag[0][0], lag[0][1], float(lag[1]))
    return run


def _children_cpu() -> float:
    # A reaped child's CPU is no longer in /proc; the publisher's is the growth of this (the
    # subscribers are reaped only after it is read).
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _log_size() -> int:
    try:
        return MOSQUITTO_LOG.stat().st_size
    except OSError:
        return 0


def _dropped_lines(client_ids: list[str], start: int) -> int:
    """Mosquitto's warnings, since ``start``, that it dropped messages for our subscribers
    (more than Receive Maximum in flight plus max_queued_messages queued)."""
    try:
        with MOSQUITTO_LOG.open("rb") as f:
            f.seek(start)
            text = f.read().decode(errors="replace")
    except OSError:
        return 0
    return sum(
        1 for line in text.splitlines() if "dropped" in line and any(c in line for c in client_ids)
    )


# -- report --


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(runs: list[Run]) -> str:
    rows = []
    for r in runs:
        msg_rate = r.stored_rate / r.records_per_message
        rows.append(
            (
                r.label,
                f"{r.target_rate:,.0f}",
                f"{r.published_readings / r.publish_seconds:,.0f}" if r.publish_seconds else "-",
                f"{r.stored_rate:,.0f}",
                f"{msg_rate:,.0f}",
                f"{r.stored_rate / r.target_rate:.2f}",
                f"{_pct(r.freshness_s, 0.5):.2f} / {_pct(r.freshness_s, 0.99):.2f}"
                f" / {max(r.freshness_s, default=float('nan')):.2f}",
                f"{max(r.backlog, default=0):,}",
                f"{r.published_readings:,} / {r.stored:,}",
                "yes" if r.ok else "NO",
            )
        )
    out = [
        table(
            f"MQTT ingest end-to-end ({machine()}; load average at the end "
            f"{os.getloadavg()[0]:.2f})",
            rows,
            (
                "payload",
                "target rdg/s",
                "published rdg/s",
                "stored rdg/s",
                "stored msg/s",
                "× target",
                "commit lag p50/p99/max s",
                "max backlog ≈",
                "published / stored",
                "exact",
            ),
        )  # fmt: skip
    ]
    res = []
    for r in runs:
        rss = [kb // 1024 for samples in r.rss_kb for kb in samples]
        first = [s[0] // 1024 for s in r.rss_kb]
        last = [s[-1] // 1024 for s in r.rss_kb]
        received = (
            f"{r.received_lag_ms[0]:.0f} / {r.received_lag_ms[1]:.0f} / {r.received_lag_ms[2]:.0f}"
            if r.received_lag_ms
            else "-"
        )
        ours = sum(r.cpu_s.values())
        others = max(0.0, r.machine_busy_s - ours) / r.wall_s if r.wall_s else float("nan")
        per_reading = r.cpu_s["subscriber"] / r.stored * 1e6 if r.stored else float("nan")
        res.append(
            (
                r.label,
                f"{r.seconds:.0f}",
                received,
                f"{min(rss)} / {max(rss)} / {_join(first)} / {_join(last)}",
                f"{r.cpu_s['subscriber']:.0f} / {r.cpu_s['publisher']:.0f} / "
                f"{r.cpu_s['mosquitto']:.0f} / {r.cpu_s['postgres']:.0f}",
                f"{per_reading:.0f}",
                f"{others:.2f}",
                f"{r.rejects} / {r.broker_dropped}",
            )
        )
    out.append("")
    out.append(
        table(
            "Resources",
            res,
            (
                "payload",
                "seconds",
                "publish→ingest ms p50/p99/max",
                "subscriber RSS MB min/max/first/last",
                "CPU s sub/pub/mosquitto/postgres",
                "sub CPU µs/reading",
                "other load (cores)",
                "rejects / broker drop warnings",
            ),
        )  # fmt: skip
    )
    out.append(LEGEND)
    for r in runs:
        for i, samples in enumerate(r.rss_kb):
            mb = " ".join(str(kb // 1024) for kb in samples)
            out.append(f"\n{r.label}, subscriber {i + 1} VmRSS MB every {RSS_EVERY_S:.0f} s: {mb}")
    return "\n".join(out)


LEGEND = """
commit lag: age of the newest committed reading (stamped at publish), sampled every second.
publish→ingest: received_at − time over every stored row (the subscriber handling it).
max backlog ≈: readings published and not yet stored, by PostgreSQL's insert counter (~1 s late).
sub CPU µs/reading: the subscriber's CPU over rows stored; other load: CPU cores used by
everything else on the machine during the run (the machine is shared)."""


def _join(values: list[int]) -> str:
    return "+".join(map(str, values))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--meters", type=int, default=1000)
    p.add_argument("--rate", type=float, default=10_000, help="target readings/s")
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--subscribers", type=int, default=1,
                   help="ingest processes on a shared subscription")  # fmt: skip
    p.add_argument("--connections", type=int, default=4, help="publisher connections")
    p.add_argument("--batch-records", type=int, default=10,
                   help="readings per message in the batched run; 0: skip it")  # fmt: skip
    p.add_argument("--batch-seconds", type=float, help="default: --seconds, at most 60")
    args = p.parse_args()
    runs = []
    plans = [(1, args.seconds, "1 reading/message")]
    if args.batch_records > 1:
        plans.append(
            (args.batch_records, args.batch_seconds or min(args.seconds, 60),
             f"{args.batch_records} readings/message (backlog)")
        )  # fmt: skip
    for per_message, seconds, label in plans:
        if args.subscribers > 1:
            label += f", {args.subscribers} subscribers ($share)"
        print(f"{label}: {args.rate:,.0f} readings/s for {seconds:.0f} s ...", file=sys.stderr)
        url = fresh_database("wattline_bench_mqtt")
        runs.append(
            measure(url, meters=args.meters, rate=args.rate, seconds=seconds,
                    records_per_message=per_message, subscribers=args.subscribers,
                    connections=args.connections, label=label)
        )  # fmt: skip
    print(report(runs))
    for r in runs:
        verdict = "nothing lost, nothing doubled" if r.ok else "MISMATCH"
        if not r.ok and r.broker_dropped:
            verdict += (
                f" ({r.published_readings - r.stored:,} missing: Mosquitto dropped messages"
                " for the subscriber, which fell behind by more than its Receive Maximum plus"
                " the broker's max_queued_messages)"
            )
        print(
            f"\n{r.label}: {r.published_readings:,} readings published (broker acknowledged "
            f"{r.acked_messages:,} of {r.published_messages:,} messages), {r.stored:,} rows "
            f"stored: {verdict}; target {r.target_rate:,.0f} readings/s, achieved "
            f"{r.stored_rate:,.0f} ({r.stored_rate / r.target_rate:.2f}×)"
        )


if __name__ == "__main__":
    main()
