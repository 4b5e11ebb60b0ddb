"""Sign-in checks: the shared reader password (WATTLINE_DASHBOARD_PASSWORD), the operator
password (WATTLINE_OPERATOR_PASSWORD; without it nobody can send commands, so a dashboard exposed
by accident cannot reset chargers), and the limits on guessing them."""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque

# Per browser session: 5 wrong passwords within a minute lock it out for a minute. Across all
# sessions (someone opening a new session per guess): 20 within a minute lock everyone out for
# a minute. Lock-outs in a row double, up to 15 minutes: about 100 guesses an hour at most.
SESSION_FAILURES = (5, 60.0)
GLOBAL_FAILURES = (20, 60.0)
MAX_BACKOFF_S = 900.0


class Limiter:
    """Counts failures in a sliding window. ``limit`` of them lock tries out for the window; a
    lock-out soon after the last one (within its wait and a window more) lasts twice as long,
    up to MAX_BACKOFF_S."""

    def __init__(self, limit: int, window_s: float, clock=time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self._failures: deque[float] = deque()
        self._until = 0.0
        self._wait = 0.0
        self._lock = threading.Lock()  # Streamlit runs each session in a thread of its own

    def wait_s(self) -> float:
        """Seconds before the next try may be checked; 0 when it may now."""
        with self._lock:
            return max(0.0, self._until - self.clock())

    def failed(self) -> None:
        with self._lock:
            now = self.clock()
            while self._failures and self._failures[0] <= now - self.window_s:
                self._failures.popleft()
            self._failures.append(now)
            if len(self._failures) < self.limit:
                return
            recent = self._wait and now < self._until + self.window_s
            self._wait = min(self._wait * 2 if recent else self.window_s, MAX_BACKOFF_S)
            self._until = now + self._wait
            self._failures.clear()


def commands_enabled(operator_password: str | None) -> bool:
    return bool(operator_password)


def check_password(given: str, operator_password: str | None) -> bool:
    if not operator_password:
        return False
    # Constant time, so the comparison leaks nothing about how much of the password matched.
    return hmac.compare_digest(given.encode(), operator_password.encode())
