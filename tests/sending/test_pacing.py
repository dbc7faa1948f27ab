"""Tests for importer.sending.pacing with a fake clock: no real sleeps."""

from __future__ import annotations

import pytest

from importer.sending.pacing import Pacer


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps (or we advance it)."""

    def __init__(self, start: float = 1000.0, wall: float = 1_700_000_000.0) -> None:
        self.now = start
        self.wall_offset = wall - start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.wall_offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_pacer(rate: float, clock: FakeClock, **kwargs) -> Pacer:
    return Pacer(rate, clock=clock, wall_clock=clock.wall, sleep=clock.sleep, **kwargs)


def starts(pacer: Pacer, clock: FakeClock, count: int, work: float = 0.0) -> list[float]:
    times = []
    for _ in range(count):
        pacer.wait()
        times.append(clock.now)
        clock.advance(work)
    return times


def test_requests_are_spaced_just_over_sixty_over_the_limit():
    clock = FakeClock()
    pacer = make_pacer(300, clock)
    times = starts(pacer, clock, 301, work=0.05)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) == pytest.approx(0.2 * 1.015)
    # Any 60 s window holds fewer than 300 requests, yet the rate stays above 95% of it.
    in_first_minute = sum(1 for t in times if t < times[0] + 60)
    assert 285 <= in_first_minute < 300


def test_first_request_does_not_wait():
    clock = FakeClock()
    pacer = make_pacer(60, clock)
    assert pacer.wait() == 0.0
    assert clock.sleeps == []


def test_a_slow_request_earns_no_burst_afterwards():
    clock = FakeClock()
    pacer = make_pacer(60, clock)  # one a second
    pacer.wait()
    clock.advance(5.0)  # the request took five seconds
    assert pacer.wait() == 0.0
    clock.advance(0.1)
    assert pacer.wait() == pytest.approx(1.015 - 0.1)


def test_rate_zero_never_sleeps():
    clock = FakeClock()
    pacer = make_pacer(0, clock)
    starts(pacer, clock, 50)
    pacer.observe(0, 10, clock.wall() + 30)
    pacer.wait()
    assert clock.sleeps == []


def test_low_remaining_with_reset_spreads_the_rest_of_the_window():
    clock = FakeClock()
    pacer = make_pacer(300, clock)
    pacer.wait()
    pacer.observe(remaining=1, limit=300, reset=clock.wall() + 10)
    assert pacer.wait() == pytest.approx(10 / 2)


def test_no_remaining_waits_until_the_reset():
    clock = FakeClock()
    waits: list[tuple[str, float]] = []
    pacer = make_pacer(300, clock, on_wait=lambda reason, s: waits.append((reason, s)))
    pacer.wait()
    pacer.observe(remaining=0, limit=300, reset=clock.wall() + 12)
    assert pacer.wait() == pytest.approx(12)
    assert waits == [("rate limit", pytest.approx(12))]


def test_reset_given_as_seconds_from_now_is_understood():
    clock = FakeClock()
    pacer = make_pacer(300, clock)
    pacer.wait()
    pacer.observe(remaining=0, limit=300, reset=7)
    assert pacer.wait() == pytest.approx(7)


def test_low_remaining_without_reset_halves_the_rate():
    clock = FakeClock()
    pacer = make_pacer(300, clock)
    pacer.wait()
    pacer.observe(remaining=2, limit=300, reset=None)
    assert pacer.wait() == pytest.approx(2 * 0.2 * 1.015)
    pacer.observe(remaining=3, limit=300, reset=None)
    assert pacer.wait() == pytest.approx(0.2 * 1.015)


def test_plenty_remaining_changes_nothing():
    clock = FakeClock()
    pacer = make_pacer(300, clock)
    pacer.wait()
    pacer.observe(remaining=250, limit=300, reset=clock.wall() + 30)
    assert pacer.wait() == pytest.approx(0.2 * 1.015)


def test_a_lower_server_limit_lowers_our_rate_but_a_higher_one_does_not_raise_it():
    clock = FakeClock()
    pacer = make_pacer(300, clock)
    pacer.observe(remaining=100, limit=150, reset=None)
    assert pacer.rate == 150
    pacer.observe(remaining=100, limit=1000, reset=None)
    assert pacer.rate == 150
    pacer.wait()
    assert pacer.wait() == pytest.approx(0.4 * 1.015)


def test_lowering_the_rate_respaces_the_request_already_planned():
    clock = FakeClock()
    pacer = make_pacer(600, clock)
    pacer.wait()  # planned the next one 0.1 s later, at the old rate
    pacer.observe(remaining=100, limit=60, reset=None)
    assert pacer.wait() == pytest.approx(1.015)


def test_a_reset_far_in_the_future_is_capped():
    clock = FakeClock()
    pacer = make_pacer(300, clock)
    pacer.wait()
    pacer.observe(remaining=0, limit=300, reset=clock.wall() + 3600)
    assert pacer.wait() == pytest.approx(60)


def test_hold_for_delays_the_next_request():
    clock = FakeClock()
    pacer = make_pacer(300, clock)
    pacer.wait()
    pacer.hold_for(3)
    assert pacer.wait() == pytest.approx(3)


def test_negative_rate_is_refused():
    with pytest.raises(ValueError):
        Pacer(-1)


def test_one_pacer_spaces_the_starts_of_several_threads() -> None:
    import threading
    import time

    # Each thread's start is what the pacer reserved for it: the clock it read (under the
    # pacer's lock) plus what it slept. Recording the time after waking instead would
    # measure the scheduler of a loaded machine, not the pacer.
    read = threading.local()

    def clock() -> float:
        read.now = time.monotonic()
        return read.now

    pacer = Pacer(1200, clock=clock)  # one start every 0.05 s (plus the margin), whoever asks
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            slept = pacer.wait()
            with lock:
                starts.append(read.now + slept)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 20
    assert min(gaps) >= pacer.interval * (1 - 1e-9), gaps


def test_a_hold_from_one_thread_holds_every_thread() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock=clock, sleep=clock.sleep)
    pacer.wait()
    pacer.hold_for(30)  # a 429 answered on another thread
    assert pacer.wait() == pytest.approx(30)
