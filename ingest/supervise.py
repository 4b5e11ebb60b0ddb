"""The process ends if its writer does: a process whose writer is gone would hold its
connections, look alive, and never answer or acknowledge again. Exiting non-zero lets the
supervisor (systemd, Docker, Kubernetes) restart it; the spool and the broker keep what was not
confirmed."""

from __future__ import annotations

import asyncio
import logging
import os
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
        self._task: asyncio.Task | None = None
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="wattline-writer-watchdog")

    async def _watch(self) -> None:
        await self.writer.wait_dead()
        self.fired = True
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
        if self._timer is not None:
            self._timer.cancel()
        return EXIT_WRITER_DIED if self.fired else 0
