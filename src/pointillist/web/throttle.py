"""Slow down password guessing: too many failed sign-ins from one address are refused.

Argon2 already makes every guess cost the server ~50 ms; this caps the number of guesses
per client address and e-mail (10 failures in 15 minutes by default), answering 429 until
the oldest failure leaves the window. The count lives in the server process: it resets on
restart and is per process, which is enough for a clinic's single server.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class LoginThrottle:
    """Failed sign-ins per ``(address, e-mail)`` within a sliding window."""

    def __init__(self, max_failures: int = 10, window_s: float = 15 * 60) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, address: str, email: str, now: float | None = None) -> int | None:
        """Seconds until another attempt is allowed, or None if it is allowed now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._recent((address, email.strip().lower()), now)
            if len(failures) < self.max_failures:
                return None
            return max(1, math.ceil(failures[0] + self.window_s - now))

    def failed(self, address: str, email: str, now: float | None = None) -> None:
        """Count a failed attempt."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent((address, email.strip().lower()), now).append(now)

    def succeeded(self, address: str, email: str) -> None:
        """Forget the failures of an address and e-mail that just signed in."""
        with self._lock:
            self._failures.pop((address, email.strip().lower()), None)
