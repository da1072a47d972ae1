"""Failure streaks with capped exponential backoff, per key.

Something that keeps failing for one cause (a network whose dnsmasq cannot
start, a process that dies at once) must not be retried in a tight loop nor
fill the log: each failure of a streak doubles the wait before the next
attempt, up to a cap, and success ends the streak.  The caller logs; this
only counts, remembers the reason and says when the next attempt is due.
Pure logic (the clock is passed in), so the schedule is unit-tested.
"""
from __future__ import annotations

import dataclasses
import threading


@dataclasses.dataclass
class Streak:
    attempts: int          # failed attempts in a row
    reason: str            # why the last one failed
    delay: float           # seconds from the last failure to the next try
    due: float             # when the next attempt may run (clock units)
    claimed: bool = False  # an attempt is under way (handed out by due())


class Backoff:
    """Streaks by key; thread-safe."""

    def __init__(self, initial: float = 1.0, cap: float = 60.0) -> None:
        self.initial = initial
        self.cap = max(cap, initial)
        self._streaks: dict[str, Streak] = {}
        self._lock = threading.Lock()

    def failed(self, key: str, reason: str, now: float) -> Streak:
        """Record one more failure; the returned streak says which attempt
        it was and when the next one is due."""
        with self._lock:
            old = self._streaks.get(key)
            attempts = old.attempts + 1 if old else 1
            delay = min(self.cap, self.initial * 2 ** min(attempts - 1, 62))
            streak = Streak(attempts, reason, delay, now + delay)
            self._streaks[key] = streak
            return dataclasses.replace(streak)

    def succeeded(self, key: str) -> Streak | None:
        """End the streak; the one that ended (None if there was none)."""
        with self._lock:
            return self._streaks.pop(key, None)

    forget = succeeded

    def due(self, now: float) -> list[str]:
        """Keys whose next attempt is due, each handed out once: it is not
        due again until failed() or succeeded() says how it went."""
        with self._lock:
            keys = [k for k, s in self._streaks.items()
                    if not s.claimed and s.due <= now]
            for key in keys:
                self._streaks[key].claimed = True
            return keys

    def may_try(self, key: str, now: float) -> bool:
        """Not failing, or failing with its next attempt due."""
        with self._lock:
            streak = self._streaks.get(key)
            return streak is None or streak.due <= now

    def failing(self) -> dict[str, Streak]:
        with self._lock:
            return {k: dataclasses.replace(s)
                    for k, s in self._streaks.items()}

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._streaks
