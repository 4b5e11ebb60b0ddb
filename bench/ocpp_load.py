"""OCPP 1.6-J load: N concurrent charge points sending MeterValues at an aggregate rate.

The central system runs as `wattline ocpp` in a process of its own against a fresh database;
the lean generator of ``bench.ocpp_loadgen`` runs in one or more other processes. Reported:
MeterValues/s offered and acknowledged (a CALLRESULT is sent only after the rows are committed),
reply latency p50/p99/max measured from each message's due time, errors, the server's peak
memory, the CPU seconds of the server, the generator and the PostgreSQL backends, and a check
that ``wattline.meter_values`` holds exactly acknowledged × values-per-message rows.
Target (issue 7): 2,000 MeterValues/s with p99 < 100 ms from 2,000 connections.

Run: .venv/bin/python -m bench.ocpp_load [--chargers 2000] [--rate 2000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.common import fresh_database, machine, table
from bench.ocpp_loadgen import raise_open_file_limit

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATE = 2000
TARGET_P99_MS = 100
_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / _TICK


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident) and VmRSS of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            found[key] = int(value.split()[0])
    return found


def _backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the database (the server's writer and lookups)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [r[0] for r in rows]


def _postgres_background_pids() -> list[int]:
    """PostgreSQL's own processes (WAL writer, checkpointer, ...): they work for every
    database on the server, this benchmark's commits among them."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and any(k in title for k in _BACKGROUND):
            found.append(int(cmdline.parent.name))
    return found


_BACKGROUND = ("walwriter", "checkpointer", "background writer", "autovacuum", "walsender")


@contextmanager
def central_system(url: str, port: int, workdir: Path, root: Path = ROOT):
    """`wattline ocpp` on 127.0.0.1:port, its log in workdir; stopped with SIGINT at the end.
    ``root``: the checkout whose code runs (ahead of the editable install on sys.path)."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "WATTLINE_OCPP_SPOOL": str(workdir / "spool.jsonl"),
        "WATTLINE_ALLOW_UNKNOWN_CHARGERS": "true",  # the load generator's fleet is not registered
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed below
    cmd = [sys.executable, "-m", "wattline.cli", "ocpp", "--host", "127.0.0.1", "--port"]
    server = subprocess.Popen([*cmd, str(port)], env=env, stdout=log, stderr=log, cwd=workdir)
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited: {(workdir / 'server.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start listening") from None
                time.sleep(0.1)
        yield server
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            _dump_stacks(server.pid, log)
            server.kill()
            server.wait()
        log.close()


def _dump_stacks(pid: int, log) -> None:
    """Where a server that overran its stop is stuck, into its log (py-spy, if installed)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    log.write(b"\n--- no exit 30 s after SIGINT; its threads (py-spy dump):\n")
    log.flush()
    try:
        subprocess.run([spy, "dump", "--pid", str(pid)], stdout=log, stderr=log, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.write(f"py-spy dump failed: {exc}\n".encode())


def _generators(
    port: int, chargers: int, rate: float, seconds: float, count: int, prefix: str, ocpp: str
):
    """``count`` generator processes sharing the charge points and the rate evenly."""
    procs, first = [], 0
    for i in range(count):
        n = chargers // count + (i < chargers % count)
        cmd = [sys.executable, "-m", "bench.ocpp_loadgen", "--port", str(port)]
        cmd += ["--chargers", str(n), "--first", str(first), "--rate", str(rate * n / chargers)]
        cmd += ["--seconds", str(seconds), "--prefix", prefix, "--ocpp", ocpp]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}  # without the caller's: a lean process
        procs.append(
            subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
            )
        )
        first += n
    return procs


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _merge(parts: list[dict]) -> dict:
    counters = ("connected", "booted", "sent", "acknowledged", "offered", "chargers")
    counters += ("call_errors", "connect_errors", "closed_early", "unanswered")
    merged = {k: sum(p[k] for p in parts) for k in counters}
    merged["cpu_s"] = sum(p["cpu_s"] for p in parts)
    merged["connect_cpu_s"] = sum(p["connect_cpu_s"] for p in parts)
    merged["window_s"] = max(p["window_s"] for p in parts)
    merged["connect_s"] = max(p["connect_s"] for p in parts)
    merged["values_per_message"] = parts[0]["values_per_message"]
    merged["error_samples"] = [e for p in parts for e in p["error_samples"]][:5]
    latencies = sorted(x for p in parts for x in p["latencies_ms"])
    merged["latency_count"] = len(latencies)  # what the percentiles below are taken over
    for name, q in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        merged[f"{name}_ms"] = _percentile(latencies, q)
    merged["boot_p99_ms"] = _percentile(
        sorted(x for p in parts for x in p["boot_latencies_ms"]), 0.99
    )
    return merged


def run(
    url: str,
    *,
    chargers: int,
    rate: float,
    seconds: float,
    generators: int = 1,
    prefix: str = "LOAD",
    profile: Path | None = None,
    keep_log: Path | None = None,
    ocpp: str = "1.6",
) -> dict:
    """Start the central system on ``url``'s database, load it, and return the measurements."""
    raise_open_file_limit(chargers + 1024)  # inherited by the server process
    workdir = Path(tempfile.mkdtemp(prefix="wattline-ocpp-load-"))
    port = free_port()
    try:
        with central_system(url, port, workdir) as server:
            idle = memory_kib(server.pid)
            procs = _generators(port, chargers, rate, seconds, generators, prefix, ocpp)
            try:
                for p in procs:
                    if p.stdout.readline().strip() != "ready":
                        raise RuntimeError("a generator failed while connecting")
                backends = _backend_pids(url)
                background = _postgres_background_pids()
                start_at = time.time() + 0.3
                for p in procs:
                    p.stdin.write(f"go {start_at}\n")
                    p.stdin.flush()
                time.sleep(max(0.0, start_at - time.time()))
                spy = _profiler(server.pid, seconds, profile) if profile else None
                watched = [server.pid, *backends, *background]
                cpu0 = {pid: cpu_s(pid) for pid in watched}
                busy0 = machine_busy_s()
                parts = [json.loads(p.stdout.readline()) for p in procs]
                cpu = {pid: cpu_s(pid) - cpu0[pid] for pid in watched}
                busy = machine_busy_s() - busy0
                memory = memory_kib(server.pid)
                rows = _count(url, prefix)
                if spy is not None:
                    spy.wait()
            finally:
                for p in procs:
                    p.stdin.close()
                    if p.wait(30) != 0:
                        raise RuntimeError("a generator failed")
        stopped_cleanly = server.returncode == 0
        log_lines = len((workdir / "server.log").read_text().splitlines())
        if keep_log is not None:
            shutil.copy(workdir / "server.log", keep_log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = _merge(parts)
    result.update(
        rows,
        server_cpu_s=cpu[server.pid],
        postgres_cpu_s=sum(cpu[pid] for pid in backends),
        postgres_background_cpu_s=sum(cpu[pid] for pid in background),
        machine_busy_s=busy,
        server_hwm_mib=memory["VmHWM"] / 1024,
        server_idle_mib=idle["VmRSS"] / 1024,
        server_rss_mib=memory["VmRSS"] / 1024,
        server_log_lines=log_lines,
        server_stopped_cleanly=stopped_cleanly,
        errors=result["call_errors"]
        + result["connect_errors"]
        + result["closed_early"]
        + result["unanswered"],
    )
    result["acknowledged_per_s"] = result["acknowledged"] / result["window_s"]
    result["offered_per_s"] = result["offered"] / seconds
    result["expected_rows"] = result["acknowledged"] * result["values_per_message"]
    return result


def _profiler(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    cmd = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--nonblocking"]
    fmt = "speedscope" if out.suffix == ".json" else "raw" if out.suffix == ".txt" else "flamegraph"
    return subprocess.Popen([*cmd, "--format", fmt, "-o", str(out)], stdout=subprocess.DEVNULL)


def _count(url: str, prefix: str) -> dict:
    """What landed: sampled values, and the MeterValues CALLs kept in the frame log."""
    with psycopg.connect(url, autocommit=True) as conn:
        (values,) = conn.execute(
            "SELECT count(*) FROM wattline.meter_values WHERE charge_point_id LIKE %s",
            [prefix + "-%"],
        ).fetchone()
        (frames,) = conn.execute(
            "SELECT count(*) FROM wattline.ocpp_messages WHERE direction = 'in'"
            " AND action = 'MeterValues' AND charge_point_id LIKE %s",
            [prefix + "-%"],
        ).fetchone()
    return {"meter_value_rows": values, "meter_values_frames": frames}


def report(r: dict, chargers: int, rate: float, seconds: float, ocpp: str = "1.6") -> str:
    def pct(cpu: float, per_message: bool = True) -> str:
        text = f"{cpu:.1f} s ({cpu / r['window_s'] * 100:.0f} % of a core"
        if per_message and r["acknowledged"]:
            text += f", {cpu / r['acknowledged'] * 1000:.2f} ms/message"
        return text + ")"

    def ok(good: bool) -> str:
        return "yes" if good else "NO"

    ours = r["server_cpu_s"] + r["postgres_cpu_s"] + r["postgres_background_cpu_s"] + r["cpu_s"]
    others = r["machine_busy_s"] - ours
    rows = [
        (
            "charge point connections (booted)",
            f"{chargers:,}",
            f"{r['booted']:,} in {r['connect_s']:.1f} s (boot p99 {r['boot_p99_ms']:.0f} ms)",
            ok(r["booted"] == chargers),
        ),
        ("MeterValues/s offered", f"{rate:,.0f}", f"{r['offered_per_s']:,.0f}", ""),
        (
            "MeterValues/s acknowledged (after commit)",
            f"≥ {TARGET_RATE:,}",
            f"{r['acknowledged_per_s']:,.0f}",
            ok(r["acknowledged_per_s"] >= 0.99 * TARGET_RATE),
        ),
        (
            "MeterValues acknowledged / offered",
            f"{r['offered']:,}",
            f"{r['acknowledged']:,}",
            ok(r["acknowledged"] == r["offered"]),
        ),
        ("reply latency p50 (ms)", "", f"{r['p50_ms']:.1f}", ""),
        (
            "reply latency p99 (ms)",
            f"< {TARGET_P99_MS}",
            f"{r['p99_ms']:.1f}",
            ok(r["p99_ms"] < TARGET_P99_MS),
        ),
        ("reply latency max (ms)", "", f"{r['max_ms']:.1f}", ""),
        (
            "errors (CALLERROR, lost, unanswered, refused)",
            "0",
            f"{r['errors']:,}",
            ok(r["errors"] == 0),
        ),
        (
            f"meter_values rows = acknowledged × {r['values_per_message']}",
            f"{r['expected_rows']:,}",
            f"{r['meter_value_rows']:,}",
            ok(r["meter_value_rows"] == r["expected_rows"]),
        ),
        (
            "MeterValues frames kept in ocpp_messages",
            f"{r['acknowledged']:,}",
            f"{r['meter_values_frames']:,}",
            ok(r["meter_values_frames"] == r["acknowledged"]),
        ),
        (
            "server peak RSS (VmHWM)",
            "",
            f"{r['server_hwm_mib']:.0f} MiB (idle {r['server_idle_mib']:.0f}; "
            f"{(r['server_hwm_mib'] - r['server_idle_mib']) * 1024 / chargers:.0f} KiB a charger)",
            "",
        ),
        ("server CPU", "", pct(r["server_cpu_s"]), ""),
        ("PostgreSQL backends CPU", "", pct(r["postgres_cpu_s"]), ""),
        ("PostgreSQL WAL writer, checkpointer, ...", "", pct(r["postgres_background_cpu_s"]), ""),
        ("load generator CPU", "small", pct(r["cpu_s"]), ""),
        ("everything else on the machine (other work)", "", pct(others, False), ""),
        ("server log lines", "", f"{r['server_log_lines']:,}", ""),
        ("server stopped cleanly (SIGINT)", "yes", ok(r["server_stopped_cleanly"]), ""),
    ]
    title = (
        f"OCPP {ocpp} MeterValues load, {chargers:,} charge points, {seconds:.0f} s ({machine()})"
    )
    out = table(title, rows, ("measure", "target", "measured", "met"))
    if r["error_samples"]:
        out += "\n\nerrors, first few:\n" + "\n".join(f"  {e}" for e in r["error_samples"])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--chargers", type=int, default=2000)
    p.add_argument("--rate", type=float, default=2000, help="MeterValues/s, all chargers together")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--generators", type=int, default=1, help="load generator processes")
    p.add_argument(
        "--profile", type=Path, help="py-spy the server into this file (.svg/.json/.txt)"
    )
    p.add_argument("--keep-log", type=Path, help="copy the server's log here")
    p.add_argument("--ocpp", choices=["1.6", "2.0.1"], default="1.6", help="protocol version")
    args = p.parse_args()
    url = fresh_database("wattline_bench_ocpp")
    r = run(
        url,
        chargers=args.chargers,
        rate=args.rate,
        seconds=args.seconds,
        generators=args.generators,
        profile=args.profile,
        keep_log=args.keep_log,
        ocpp=args.ocpp,
    )
    print(report(r, args.chargers, args.rate, args.seconds, args.ocpp))


if __name__ == "__main__":
    main()
