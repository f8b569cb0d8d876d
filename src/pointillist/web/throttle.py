"""Slow down password guessing: too many failed sign-ins are refused for a while.

Argon2 already makes every guess cost the server ~50 ms; this caps the guesses per
account (whatever address they come from: no spraying one account from many machines)
and per client address (whatever account they aim at: no spraying many accounts from one
machine), answering 429 until the oldest failure leaves the window. The limits are in
``records.toml`` [sign_in]. The counts live in the server process: they reset on restart
and are per worker, which multiplies the limits by the number of workers at most.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class LoginThrottle:
    """Failed sign-ins per account and per address within a sliding window."""

    def __init__(
        self, max_per_account: int = 10, max_per_address: int = 30, window_s: float = 15 * 60
    ) -> None:
        self.limits = {"account": max_per_account, "address": max_per_address}
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    @staticmethod
    def _keys(address: str, email: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("account", email.strip().lower()), ("address", address)

    def retry_after(self, address: str, email: str, now: float | None = None) -> int | None:
        """Seconds until another attempt is allowed, or None if it is allowed now."""
        now = time.monotonic() if now is None else now
        waits = []
        with self._lock:
            for key in self._keys(address, email):
                failures = self._recent(key, now)
                if len(failures) >= self.limits[key[0]]:
                    waits.append(max(1, math.ceil(failures[0] + self.window_s - now)))
        return max(waits) if waits else None

    def failed(self, address: str, email: str, now: float | None = None) -> None:
        """Count a failed attempt against both the account and the address."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in self._keys(address, email):
                self._recent(key, now).append(now)

    def succeeded(self, address: str, email: str) -> None:
        """Forget the account's failures once its password is given. The address keeps
        its count: one good password must not reset a spray across other accounts."""
        with self._lock:
            self._failures.pop(self._keys(address, email)[0], None)
