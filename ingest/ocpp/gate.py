"""What a handshake costs, bounded: password checks on a small pool of their own, successful
checks remembered for a while, failures rate-limited per remote address and per identity.

A mass reconnect of a fleet that connected before (a network blip, a restarted proxy) costs a
cached HMAC per charger instead of an argon2id run each; a flood of wrong passwords costs at
most a few hash runs a minute per address and identity before it is answered 429 for free, and
never reaches the executor the spool and the ocpp library use.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from ingest.ocpp.auth import needs_rehash, verify_password


class Busy(Exception):
    """Too many password checks waiting: try again later (HTTP 503)."""


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    rehash: bool = False  # ok, and the stored hash is from an older scheme


class Passwords:
    """Verifies presented passwords on ``workers`` threads, at most ``max_waiting`` queued, and
    remembers the good ones (an HMAC of identity, stored hash and password, under a key that
    lives only in this process) for ``ttl_s``, ``max_cached`` at most."""

    def __init__(
        self,
        *,
        workers: int = 2,
        max_waiting: int = 32,
        ttl_s: float = 600.0,
        max_cached: int = 50_000,
    ) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="wattline-auth")
        self._slots = max_waiting
        self.ttl_s = ttl_s
        self.max_cached = max_cached
        self._key = secrets.token_bytes(32)
        self._good: OrderedDict[bytes, float] = OrderedDict()
        self.hash_runs = 0

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def full(self) -> bool:
        """As many checks waiting as allowed: another would be refused (Busy)."""
        return self._slots <= 0

    def cached(self, identity: str, password: str, stored: str) -> bool:
        key = self._fingerprint(identity, password, stored)
        expires = self._good.get(key)
        if expires is None:
            return False
        if expires < time.monotonic():
            del self._good[key]
            return False
        return True

    async def check(self, identity: str, password: str, stored: str) -> PasswordCheck:
        if self.cached(identity, password, stored):
            return PasswordCheck(True)
        if self._slots <= 0:
            raise Busy
        self._slots -= 1
        try:
            self.hash_runs += 1
            ok = await asyncio.get_running_loop().run_in_executor(
                self._pool, verify_password, password, stored
            )
        finally:
            self._slots += 1
        if not ok:
            return PasswordCheck(False)
        self._remember(self._fingerprint(identity, password, stored))
        return PasswordCheck(True, rehash=needs_rehash(stored))

    async def run(self, function, *args):
        """``function(*args)`` on the password pool (hashing a new password)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    def _remember(self, key: bytes) -> None:
        self._good[key] = time.monotonic() + self.ttl_s
        self._good.move_to_end(key)
        while len(self._good) > self.max_cached:
            self._good.popitem(last=False)

    def _fingerprint(self, identity: str, password: str, stored: str) -> bytes:
        message = "\x00".join((identity, stored, password)).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, message, hashlib.sha256).digest()


class FailureLimiter:
    """A token bucket per key (a remote address, an identity): each failure takes a token,
    tokens come back at ``per_minute``, and a key without tokens is limited. Once a key has
    failed, checks still running for it count as spent too, so a token that comes back lets
    one guess through, not every guess waiting at that moment; a key that has not failed (a
    fleet reconnecting through one NAT address) is never held back by its own numbers.
    Bounded: the least recently failed keys are forgotten first."""

    def __init__(self, burst: int, per_minute: float, *, max_keys: int = 100_000) -> None:
        self.burst = burst
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._running: Counter[str] = Counter()

    def limited(self, key: str) -> bool:
        tokens = self._tokens(key, time.monotonic())
        return tokens < 1.0 or (tokens < self.burst and tokens - self._running[key] < 1.0)

    @contextmanager
    def attempt(self, *keys: str) -> Iterator[None]:
        """A check under way for ``keys`` (see above)."""
        for key in keys:
            self._running[key] += 1
        try:
            yield
        finally:
            for key in keys:
                self._running[key] -= 1
                if not self._running[key]:
                    del self._running[key]

    def failed(self, key: str) -> None:
        now = time.monotonic()
        self._buckets[key] = (max(self._tokens(key, now) - 1.0, 0.0), now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)
