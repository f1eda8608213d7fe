"""Per-second counts of a stream's events, bytes and comments, and its reconnect gaps.

The rate plot draws from here.  :meth:`RateSeries.update` is called once per network
read with the stream's running totals, never per event, and does O(1) work (the
bins of the seconds that passed since the last read are cleared, at most once
each, so the cost per read stays constant on average).  Memory is bounded: one
ring of ``seconds + 1`` bins per counter (the extra bin is the second still under
way) and the gaps that still touch the window.

Times are the records' ``at`` (``time.monotonic()`` of the read); ``wall_offset``
turns them into wall-clock time for display.  A gap runs from a ``Reconnecting``
or ``Closed`` record to the next ``Open``; an open-ended gap has ``end=None``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

DEFAULT_SECONDS = 300  # five minutes
MAX_GAPS = 1_000  # a stream retrying with no delay could otherwise grow without end


@dataclass(frozen=True, slots=True)
class Gap:
    """No connection from ``start`` to ``end`` (monotonic seconds; None: still)."""

    start: float
    end: float | None


@dataclass(frozen=True, slots=True)
class RateWindow:
    """Complete seconds ``first`` .. ``first + len(events) - 1``, oldest first.

    A second's bin holds what arrived in ``[s, s + 1)``, so its count is the rate in
    that second.  Seconds before ``since`` (the first thing this series saw) are
    not data but "before the stream": ``since`` lets a plot leave them blank.
    """

    first: int
    events: list[int]
    bytes: list[int]
    comments: list[int]
    gaps: list[Gap]
    since: float | None
    wall_offset: float

    @property
    def end(self) -> int:
        """The second just after the last complete one (the window's right edge)."""
        return self.first + len(self.events)


class RateSeries:
    """Rolling per-second bins over the last ``seconds`` seconds, plus gaps."""

    __slots__ = (
        "_bytes",
        "_comments",
        "_events",
        "_gaps",
        "_second",
        "_totals",
        "seconds",
        "since",
        "wall_offset",
    )

    def __init__(self, seconds: int = DEFAULT_SECONDS) -> None:
        if seconds < 1:
            raise ValueError(f"a rate window needs at least one second, not {seconds}")
        self.seconds = seconds
        size = seconds + 1  # the second still under way is not shown but kept
        self._events = [0] * size
        self._bytes = [0] * size
        self._comments = [0] * size
        self._second: int | None = None  # the newest second that has a bin
        self._totals = (0, 0, 0)
        self._gaps: deque[Gap] = deque(maxlen=MAX_GAPS)
        self.since: float | None = None
        self.wall_offset = 0.0  # wall clock minus monotonic, from the latest update

    # -- feeding (once per network read or state change) ----------

    def update(
        self, at: float, wall: float, events: int, nbytes: int, comments: int
    ) -> None:
        """Account for the running totals as of the read at ``at``.

        Totals only grow; if one shrinks (a counter was reset), its new value
        counts as what arrived since.
        """
        old_events, old_bytes, old_comments = self._totals
        d_events = events - old_events
        d_bytes = nbytes - old_bytes
        d_comments = comments - old_comments
        if not (d_events or d_bytes or d_comments):
            return
        self._totals = (events, nbytes, comments)
        self.wall_offset = wall - at
        if self.since is None:
            self.since = at
        second = math.floor(at)
        newest = self._second
        if newest is None or second > newest:
            self._advance(second)
        elif second <= newest - len(self._events):
            return  # older than the window: nothing to draw it in
        index = second % len(self._events)
        self._events[index] += d_events if d_events >= 0 else events
        self._bytes[index] += d_bytes if d_bytes >= 0 else nbytes
        self._comments[index] += d_comments if d_comments >= 0 else comments

    def disconnected(self, at: float) -> None:
        """A Reconnecting or Closed record: a gap starts (unless one is open)."""
        if self.since is None:
            self.since = at
        if self._gaps and self._gaps[-1].end is None:
            return
        self._prune(at)
        self._gaps.append(Gap(at, None))

    def connected(self, at: float) -> None:
        """An Open record: the open gap, if any, ends here."""
        if self.since is None:
            self.since = at
        if self._gaps and self._gaps[-1].end is None:
            self._gaps[-1] = Gap(self._gaps[-1].start, at)

    def _advance(self, second: int) -> None:
        """Clear the bins of the seconds after the newest one, up to ``second``."""
        size = len(self._events)
        newest = self._second
        self._second = second
        if newest is None or second - newest >= size:
            for ring in (self._events, self._bytes, self._comments):
                ring[:] = [0] * size
            return
        for s in range(newest + 1, second + 1):
            index = s % size
            self._events[index] = self._bytes[index] = self._comments[index] = 0

    def _prune(self, now: float) -> None:
        horizon = now - self.seconds - 2
        gaps = self._gaps
        while gaps and gaps[0].end is not None and gaps[0].end < horizon:
            gaps.popleft()

    # -- reading (a few times a second, while a plot is shown) ----------

    def window(self, end: float) -> RateWindow:
        """The ``seconds`` complete seconds before ``end`` (a monotonic time).

        Pass ``time.monotonic()`` for a live stream; a stream that is over can pass
        its last time so the window stays on what it received.
        """
        size = len(self._events)
        last = math.floor(end) - 1  # the last complete second
        first = last - self.seconds + 1
        newest = self._second
        # The ring holds (newest - size, newest]; seconds after the newest bin
        # saw nothing, and seconds before the ring are gone.
        low = first if newest is None else max(first, newest - size + 1)
        high = last if newest is None else min(last, newest)
        if newest is None or high < low:
            events, nbytes, comments = ([0] * self.seconds for _ in range(3))
        else:
            before = [0] * (low - first)
            after = [0] * (last - high)
            start, count = low % size, high - low + 1
            events = before + _slice(self._events, start, count) + after
            nbytes = before + _slice(self._bytes, start, count) + after
            comments = before + _slice(self._comments, start, count) + after
        gaps = [
            gap
            for gap in self._gaps
            if gap.start < last + 1 and (gap.end is None or gap.end >= first)
        ]
        return RateWindow(
            first, events, nbytes, comments, gaps, self.since, self.wall_offset
        )

    @property
    def last_at(self) -> float | None:
        """The end of the newest second with data, or of the last gap: where the
        stream's story ends, for a window over a stream that is over."""
        candidates = [] if self._second is None else [float(self._second + 1)]
        if self._gaps:
            gap = self._gaps[-1]
            candidates.append(gap.start if gap.end is None else gap.end)
        return max(candidates) if candidates else None


def _slice(ring: list[int], start: int, count: int) -> list[int]:
    """``count`` items of ``ring`` from ``start``, wrapping round."""
    end = start + count
    if end <= len(ring):
        return ring[start:end]
    return ring[start:] + ring[: end - len(ring)]
