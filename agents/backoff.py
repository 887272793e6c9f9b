"""Exponential backoff with jitter for retries against the server."""

from __future__ import annotations

import random


class Backoff:
    """Delay before retry n (n = 1, 2, ...): ``min(cap, base × 2^(n-1))``, jittered to 50–100 % of it
    ("equal jitter"), so a fleet that lost the server together does not come back in lock-step, while
    every delay still grows. ``reset()`` after a success."""

    def __init__(self, *, base_s: float = 1.0, cap_s: float = 60.0, rng: random.Random | None = None) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError("need 0 < base_s <= cap_s")
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets

    def ceiling(self) -> float:
        """The un-jittered delay for the current failure count."""
        if self.failures == 0:
            return 0.0
        return min(self.cap_s, self.base_s * (2 ** min(self.failures - 1, 62)))

    def failure(self, retry_after: float | None = None) -> float:
        """Count one failure and return how long to wait before the next attempt."""
        self.failures += 1
        ceiling = self.ceiling()
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(self.cap_s, retry_after))
        return delay

    def reset(self) -> None:
        self.failures = 0
