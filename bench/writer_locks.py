"""Writer locking designs for issue 18, measured apart from the writer: what one batch's claim
costs per slot, and how long two writer processes on disjoint devices wait for each other.

Designs:
- rows64: today's claim (0011): lock and bump the batch's slots among 64 rows, in slot order.
- rows65536: the reverted fine design (dddd849): the same over 65,536 slot rows.
- advisory: pg_advisory_xact_lock on each of the batch's devices (hashed to 64-bit keys), sorted
  so writers never deadlock; nothing written, the locks go with the transaction.
- lease: each process holds a lease on its devices; the per-batch check is one row read.
- handover: both processes write the same devices and take their leases back every batch.

A batch holds its claim for --hold ms (the COPY it guards) before it commits. Two processes run
on disjoint device sets; lock wait is the time spent in the claim statement beyond what one
process alone spends there. Run: .venv/bin/python -m bench.writer_locks
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
import zlib

import psycopg
from psycopg import conninfo

ADMIN_URL = os.environ.get("WATTLINE_BENCH_ADMIN_URL", "postgresql://127.0.0.1:5432/postgres")
DB = f"bench_writer_locks_{os.getpid()}"

CLAIM_ROWS = """
WITH locked AS (SELECT slot, writer, version FROM slots_{n}
                 WHERE slot = ANY(%(slots)s) ORDER BY slot FOR UPDATE)
UPDATE slots_{n} w SET writer = %(writer)s, version = locked.version + 1
  FROM locked WHERE w.slot = locked.slot
RETURNING locked.slot, locked.writer, locked.version"""
CLAIM_ADVISORY = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) k"
CLAIM_LEASE = "SELECT writer, version FROM leases WHERE owner = %(writer)s"
# A $share group splitting the same meters: every batch takes its devices back from the other
# process (lease rows in key order, then the old owner's epoch, which waits for its batch).
CLAIM_HANDOVER = """
WITH old AS (SELECT device, owner FROM device_leases WHERE device = ANY(%(devices)s)
              ORDER BY device FOR UPDATE),
     moved AS (UPDATE device_leases l SET owner = %(writer)s FROM old
                WHERE l.device = old.device AND old.owner <> %(writer)s RETURNING old.owner)
UPDATE leases SET version = version + 1
 WHERE owner IN (SELECT DISTINCT owner FROM moved)
RETURNING owner"""


def url(name: str) -> str:
    params = conninfo.conninfo_to_dict(ADMIN_URL)
    params["dbname"] = name
    return conninfo.make_conninfo(**params)


def setup() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB}")
        conn.execute(f"CREATE DATABASE {DB}")
    with psycopg.connect(url(DB), autocommit=True) as conn:
        for n in (64, 65536):
            conn.execute(
                f"CREATE TABLE slots_{n} (slot integer PRIMARY KEY, writer text,"
                f" version bigint NOT NULL DEFAULT 0)"
            )
            conn.execute(f"INSERT INTO slots_{n} (slot) SELECT generate_series(0, {n - 1})")
        conn.execute("CREATE TABLE leases (owner text PRIMARY KEY, writer text, version bigint)")
        conn.execute("INSERT INTO leases VALUES ('w0', 'w0', 0), ('w1', 'w1', 0)")
        conn.execute("CREATE TABLE device_leases (device text PRIMARY KEY, owner text)")


def drop() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def devices(worker: int, count: int, design: str = "") -> list[str]:
    # Disjoint device sets: the case where writers should never wait for each other; the
    # handover design shares one set on purpose.
    worker = 0 if design == "handover" else worker
    return [f"CP-{worker}-{i:06d}" for i in range(count)]


def claim(design: str, devs: list[str], writer: str) -> tuple[str, dict]:
    h = [zlib.crc32(d.encode()) for d in devs]
    if design == "rows64":
        return CLAIM_ROWS.format(n=64), {"slots": sorted({x % 64 for x in h}), "writer": writer}
    if design == "rows65536":
        slots = sorted({x % 65536 for x in h})
        return CLAIM_ROWS.format(n=65536), {"slots": slots, "writer": writer}
    if design == "advisory":
        keys = sorted(
            {zlib.crc32(d.encode(), 0x5A5A) << 31 ^ x for d, x in zip(devs, h, strict=True)}
        )
        return CLAIM_ADVISORY, {"keys": keys}
    if design == "handover":
        return CLAIM_HANDOVER, {"devices": sorted(devs), "writer": writer}
    return CLAIM_LEASE, {"writer": writer}


def run(design: str, worker: int, batches: int, devs: int, hold_ms: float, out) -> None:
    writer = f"w{worker}"
    query, params = claim(design, devices(worker, devs, design), writer)
    started = time.perf_counter()
    try:
        spent = _loop(url(DB), query, params, batches, hold_ms)
    except psycopg.Error as exc:  # reported, not hung on: e.g. out of shared memory
        out.put(exc)
        return
    out.put((spent, time.perf_counter() - started))


def _loop(conn_url, query, params, batches, hold_ms) -> float:
    spent = 0.0
    with psycopg.connect(conn_url) as conn:
        for _ in range(batches):
            t = time.perf_counter()
            conn.execute(query, params).fetchall()
            spent += time.perf_counter() - t
            if hold_ms:
                conn.execute("SELECT pg_sleep(%s)", (hold_ms / 1000,))
            conn.commit()
    return spent


def measure(design: str, procs: int, batches: int, devs: int, hold_ms: float) -> tuple:
    out: mp.Queue = mp.Queue()
    ps = [
        mp.Process(target=run, args=(design, w, batches, devs, hold_ms, out)) for w in range(procs)
    ]
    for p in ps:
        p.start()
    results = [out.get() for _ in ps]
    for p in ps:
        p.join()
    for r in results:
        if isinstance(r, Exception):
            raise r
    claim_s = sum(r[0] for r in results) / procs
    wall = max(r[1] for r in results)
    return claim_s / batches * 1000, procs * batches / wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--devices", type=int, default=2000, help="devices per batch")
    ap.add_argument("--hold", type=float, default=5.0, help="ms a batch holds its claim (COPY)")
    args = ap.parse_args()
    setup()
    try:
        print(f"load average: {open('/proc/loadavg').read().strip()}")
        print(f"{args.devices} devices a batch, claim held {args.hold} ms, {args.batches} batches")
        print("design     slots/batch  claim ms 1p  us/slot  claim ms 2p  wait ms  batch/s 1p  2p")
        with psycopg.connect(url(DB), autocommit=True) as conn:
            conn.execute(
                "INSERT INTO device_leases SELECT d, 'w1' FROM unnest(%s::text[]) d",
                (devices(0, args.devices),),
            )
        for design in ("rows64", "rows65536", "advisory", "lease", "handover"):
            _, params = claim(design, devices(0, args.devices), "w0")
            n = len(params.get("slots", params.get("keys", params.get("devices", [0]))))
            try:
                one, rate1 = measure(design, 1, args.batches, args.devices, args.hold)
                two, rate2 = measure(design, 2, args.batches, args.devices, args.hold)
            except Exception as exc:  # e.g. out of shared memory: too many locks at once
                print(f"{design:10} {n:>11}  failed: {type(exc).__name__}: {exc}")
                continue
            print(
                f"{design:10} {n:>11}  {one:11.2f}  {one * 1000 / n:7.2f}  {two:11.2f}"
                f"  {max(two - one, 0):7.2f}  {rate1:10.0f}  {rate2:4.0f}"
            )
    finally:
        drop()


if __name__ == "__main__":
    main()
