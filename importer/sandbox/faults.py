"""Seeded choice of the fault, if any, a lead request gets; knows nothing about HTTP."""

from __future__ import annotations

import random
import threading


class FaultPlan:
    """Draws from random.Random(seed): the same seed gives the same faults in the same order.

    Exactly one draw per lead request (and a second to pick the kind when it faults), so the
    sequence depends only on how many lead requests came before, not on their content.
    """

    def __init__(self, rate: float, seed: int, kinds: tuple[str, ...]) -> None:
        self._rate = rate
        self._seed = seed
        self._kinds = kinds
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def next_fault(self) -> str | None:
        """The fault kind for the next lead request, or None to answer normally."""
        if self._rate <= 0:
            return None
        with self._lock:
            if self._random.random() >= self._rate:
                return None
            return self._random.choice(self._kinds)

    def reset(self) -> None:
        """Start the sequence again, as a freshly started sandbox would."""
        with self._lock:
            self._random = random.Random(self._seed)
