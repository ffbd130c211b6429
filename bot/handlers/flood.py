"""Flood control: how many commands one person may send in a burst."""

from __future__ import annotations


class FloodGuard:
    """A per-user token bucket: a burst of commands, then one warning, then silence."""

    def __init__(self, burst: int = 8, per_second: float = 1.0) -> None:
        self.burst = burst
        self.per_second = per_second
        self._buckets: dict[int, tuple[float, float, bool]] = {}

    def allow(self, user_id: int, now: float) -> tuple[bool, bool]:
        """Return (allowed, warn): whether to handle this update, and whether to say slow down."""
        tokens, last, warned = self._buckets.get(user_id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens >= 1.0:
            # Warned once per flood: the warning comes back only after a full calm spell.
            calm = tokens >= self.burst
            self._buckets[user_id] = (tokens - 1.0, now, warned and not calm)
            return True, False
        self._buckets[user_id] = (tokens, now, True)
        if len(self._buckets) > 100_000:
            self._buckets.clear()  # bound memory under a flood of distinct ids
        return False, not warned
