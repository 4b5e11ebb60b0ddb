"""The process ends if its writer does: a process whose writer is gone would hold its
connections, look alive, and never answer or acknowledge again. Exiting non-zero lets the
supervisor (systemd, Docker, Kubernetes) restart it; the spool and the broker keep what was not
confirmed.

Before it stops, such a process may linger for WATTLINE_HEALTH_LINGER_S (default 0) answering
/healthz with 503, so that a prober sees why it goes (a SIGTERM meanwhile stops it at once).
SIGUSR2 is a drill aid: it ends the writer task as a fault would, to check that probes, alerts
and the supervisor's restart notice (README, "Health and metrics")."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading

log = logging.getLogger(__name__)

EXIT_WRITER_DIED = 70  # EX_SOFTWARE
STOP_GRACE_S = 60.0  # for the orderly stop; then the process ends regardless


class Watchdog:
    """Sets ``stop`` when the writer task ends unexpectedly; ``close`` gives the exit code.
    Should the orderly stop hang, the process exits after ``grace_s`` all the same."""

    def __init__(self, writer, stop: asyncio.Event, grace_s: float = STOP_GRACE_S) -> None:
        self.writer = writer
        self.stop = stop
        self.grace_s = grace_s
        self.fired = False
        self.linger_s = linger_s()
        self._task: asyncio.Task | None = None
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="wattline-writer-watchdog")
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, self._drill)

    def _drill(self) -> None:
        log.warning("SIGUSR2: ending the writer task, as a drill")
        asyncio.ensure_future(self.writer.end_for_drill())

    async def _watch(self) -> None:
        await self.writer.wait_dead()
        self.fired = True
        if self.linger_s:
            log.critical("the writer has stopped: answering /healthz 503 for %g s", self.linger_s)
            await asyncio.sleep(self.linger_s)
        log.critical("the writer has stopped: stopping the process (exit %d)", EXIT_WRITER_DIED)
        # A thread, not the event loop: the loop may be what is stuck.
        self._timer = threading.Timer(self.grace_s, os._exit, (EXIT_WRITER_DIED,))
        self._timer.daemon = True
        self._timer.start()
        self.stop.set()

    def close(self) -> int:
        """After the orderly stop: the process's exit code."""
        if self._task is not None:
            self._task.cancel()
            asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR2)
        if self._timer is not None:
            self._timer.cancel()
        return EXIT_WRITER_DIED if self.fired else 0


def linger_s() -> float:
    from wattline.settings import Settings  # here: settings import ingest

    return Settings.from_env().health_linger_s
