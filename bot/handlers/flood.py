"""Flood control: how many commands one person may send in a burst."""

from __future__ import annotations

_KEEP_AT_LEAST = 1000


class FloodGuard:
    """A per-user token bucket: a burst of commands, then one warning, then silence."""

    def __init__(self, burst: int = 8, per_second: float = 1.0) -> None:
        self.burst = burst
        self.per_second = per_second
        self._buckets: dict[int, tuple[float, float, bool]] = {}
        self._forget_at = _KEEP_AT_LEAST  # buckets kept before those at rest are forgotten

    def allow(self, user_id: int, now: float) -> tuple[bool, bool]:
        """Return (allowed, warn): whether to handle this update, and whether to say slow down."""
        if len(self._buckets) >= self._forget_at:
            self._forget_rested(now)
        tokens, last, warned = self._buckets.get(user_id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
        if tokens >= 1.0:
            # Warned once per flood: the warning comes back only after a full calm spell.
            calm = tokens >= self.burst
            self._buckets[user_id] = (tokens - 1.0, now, warned and not calm)
            return True, False
        self._buckets[user_id] = (tokens, now, True)
        return False, not warned

    def _forget_rested(self, now: float) -> None:
        """Forget the buckets that have refilled: a full bucket is what a newcomer gets, so
        memory follows the people active in the last few seconds, not the crowd (issue 20)."""
        rest = self.burst / self.per_second
        self._buckets = {u: b for u, b in self._buckets.items() if now - b[1] < rest}
        self._forget_at = max(_KEEP_AT_LEAST, 2 * len(self._buckets))
