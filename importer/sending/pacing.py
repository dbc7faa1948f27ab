"""Space requests to stay under a per-minute rate limit; knows nothing about HTTP or leads."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

# Requests are spaced 60/limit seconds apart plus this share, so that network jitter cannot
# put more than `limit` requests into any 60 s window the server counts (at 300/min the
# spacing is 0.203 s: 296 requests a minute, arrivals may wobble by 0.6 s and still fit).
SAFETY_MARGIN = 0.015
# When the server says this few requests are left in its window, slow down.
LOW_REMAINING = 2
# Never hold for longer than this on a reset time the server announces (clock skew guard).
MAX_RESET_WAIT = 60.0
# Waits at least this long are reported through on_wait (regular spacing is not).
REPORT_WAITS_FROM = 1.0
# x-ratelimit-reset values above this are epoch seconds; below, seconds from now.
EPOCH_THRESHOLD = 1e9

WaitCallback = Callable[[str, float], None]


class Pacer:
    """A token bucket with burst 1: `wait()` before each request keeps them evenly spaced.

    A late request does not earn a burst afterwards: the next one is due one interval after
    the later of the planned and the actual start, so any 60 s window holds at most
    60 / interval requests. `observe()` takes the server's x-ratelimit-* headers: a lower
    server limit than ours lowers our rate, and a nearly used-up window holds the next
    request back. rate 0 turns pacing off (`wait` never sleeps, `observe` is ignored).
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        on_wait: WaitCallback | None = None,
        margin: float = SAFETY_MARGIN,
    ) -> None:
        if rate_per_minute < 0:
            raise ValueError("rate_per_minute must be 0 (off) or positive")
        self.rate = float(rate_per_minute)
        self._margin = margin
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._next_at: float | None = None
        self._last_start: float | None = None
        self.interval = self._interval_for(self.rate)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _interval_for(self, rate: float) -> float:
        return 60.0 / rate * (1.0 + self._margin) if rate > 0 else 0.0

    def wait(self) -> float:
        """Sleep until the next request may start; returns the seconds slept."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        slept = 0.0
        if self._next_at is not None and now < self._next_at:
            slept = self._next_at - now
            if slept >= REPORT_WAITS_FROM and self._on_wait is not None:
                self._on_wait("rate limit", slept)
            self._sleep(slept)
            now = max(self._clock(), self._next_at)
        self._last_start = now
        self._next_at = now + self.interval
        return slept

    def observe(self, remaining: int | None, limit: int | None, reset: float | None) -> None:
        """Take the server's x-ratelimit-remaining / -limit / -reset (epoch or seconds)."""
        if not self.enabled:
            return
        if limit is not None and 0 < limit < self.rate:
            self._lower_rate(limit)
        if remaining is None or remaining > LOW_REMAINING:
            return
        self.hold_for(self._low_remaining_delay(max(remaining, 0), reset))

    def _lower_rate(self, limit: int) -> None:
        # The request just answered was spaced for the old rate: the next one is due a
        # full new interval after it, or a sliding window could see one too many.
        self.rate = float(limit)
        self.interval = self._interval_for(self.rate)
        if self._last_start is not None:
            self.hold_until(self._last_start + self.interval)

    def hold_for(self, seconds: float) -> None:
        """Make the next request wait at least `seconds` from now (e.g. after a 429)."""
        if self.enabled and seconds > 0:
            self.hold_until(self._clock() + seconds)

    def hold_until(self, due: float) -> None:
        """Make the next request wait until at least `due` on the pacer's clock."""
        if self._next_at is None or due > self._next_at:
            self._next_at = due

    def _low_remaining_delay(self, remaining: int, reset: float | None) -> float:
        reset_in = self._seconds_until(reset)
        if reset_in is not None:
            # Spread what is left of the window over the time until it resets.
            return min(reset_in, MAX_RESET_WAIT) / (remaining + 1)
        # No reset time (the real API sends one only with a 429): halve the rate while the
        # window is nearly full; a 429's retry-after still covers running out entirely.
        return 2 * self.interval

    def _seconds_until(self, reset: float | None) -> float | None:
        return seconds_until_reset(reset, self._wall_clock())


def seconds_until_reset(reset: float | None, now: float) -> float | None:
    """x-ratelimit-reset as seconds from `now` (epoch seconds): the one place this rule lives.

    Values above EPOCH_THRESHOLD are epoch seconds, smaller ones seconds from now. None for
    no header or a value that is not a finite number (nan, inf, 1e400).
    """
    if reset is None or not math.isfinite(reset):
        return None
    seconds = reset - now if reset > EPOCH_THRESHOLD else reset
    return max(0.0, seconds)


def header_number(value: str | None) -> float | None:
    """A rate-limit header as a finite number; None when absent or junk ("nan", "1e400")."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
