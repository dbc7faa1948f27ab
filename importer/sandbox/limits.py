"""Per-key rate limit over a sliding 60 s window; knows nothing about HTTP."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 60.0
# A client pacing at exactly the limit sees its requests land a few ms early or late on
# loopback; this much slack keeps such a client from being refused by scheduling jitter.
JITTER_SECONDS = 0.05


@dataclass(frozen=True)
class Quota:
    """One decision: allowed or not, and what the x-ratelimit-* headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int  # when the oldest counted request leaves the window
    retry_after: int  # whole seconds to wait when refused (at least 1)


class RateLimiter:
    """At most `limit` accepted requests per key in any `window` seconds (0: no limit).

    A sliding window of timestamps: a client that keeps exactly `limit` per minute is
    never refused, and a burst cannot get twice the limit across a minute boundary the
    way a fixed window allows. Refused requests are not counted.

    `per_minute` is what the headers report: like the real API they speak per minute,
    so with a window shorter than 60 s the remaining count is scaled to a minute.
    """

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        per_minute: int | None = None,
    ) -> None:
        self.limit = limit
        self._reported = limit if per_minute is None else per_minute
        self._window = window
        self._slack = min(JITTER_SECONDS, window / 100)
        self._clock = clock
        self._wall_clock = wall_clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> Quota:
        """Count one request for `key` if the window has room; say what is left either way."""
        if self.limit <= 0:
            return Quota(True, 0, 0, 0, 0)
        with self._lock:
            now = self._clock()
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self._window + self._slack:
                hits.popleft()
            allowed = len(hits) < self.limit
            if allowed:
                hits.append(now)
            wait = hits[0] + self._window - self._slack - now if hits else 0.0
        return Quota(
            allowed=allowed,
            limit=self._reported,
            remaining=self._scaled(self.limit - len(hits)),
            reset_epoch=math.ceil(self._wall_clock() + max(wait, 0.0)),
            retry_after=max(1, math.ceil(wait)),
        )

    def peek(self, key: str) -> Quota:
        """What is left for `key` without counting a request (for answers like 401)."""
        if self.limit <= 0:
            return Quota(True, 0, 0, 0, 0)
        with self._lock:
            now = self._clock()
            used = sum(1 for hit in self._hits.get(key, ()) if hit > now - self._window)
        remaining = self._scaled(self.limit - used)
        return Quota(True, self._reported, remaining, math.ceil(self._wall_clock()), 0)

    def _scaled(self, remaining_in_window: int) -> int:
        return remaining_in_window * self._reported // self.limit

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
