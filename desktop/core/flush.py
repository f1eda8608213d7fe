"""When a live view publishes what arrived: at once when quiet, coalesced under load.

Qt-free, so the policy is a value with a clock passed in.  The app's controller
asks :meth:`FlushPolicy.arrived` when rows come in and starts its one flush timer
with the delay it returns; the flush reports back with :meth:`FlushPolicy.flushed`.

- Quiet (no flush ran for :attr:`FlushPolicy.frame_s`, about one display frame):
  the first row is flushed at once (delay 0: the next turn of the loop), so a slow
  stream's event is painted a few milliseconds after it arrived, not after a
  fixed batch window.
- Busy: flushes are spaced :attr:`FlushPolicy.frame_s` apart, and
  :attr:`FlushPolicy.busy_s` apart after a flush that carried
  :attr:`FlushPolicy.busy_rows` rows or more (full-speed ingest: fewer, larger
  insertions and repaints leave the loop to the network reads).
- Bounded: a scheduled flush is never pushed back by later arrivals, so no row
  waits longer than the spacing in force (at most ``busy_s``), however steady the
  stream, and a flush carries what arrived in one spacing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

FRAME_S = 1 / 60  # a display frame: painting more often shows nothing more
BUSY_S = 0.050  # spacing under heavy load: 20 repaints/s, as batches always had
BUSY_ROWS = 500  # a flush this big is load (30,000 rows/s at one per frame)


@dataclass(slots=True)
class FlushPolicy:
    """The delay before the next flush, from the last flush's time and size."""

    frame_s: float = FRAME_S
    busy_s: float = BUSY_S
    busy_rows: int = BUSY_ROWS
    _last: float = field(default=-math.inf, init=False)  # when the last flush ran
    _spacing: float = field(default=0.0, init=False)  # after the last flush
    _scheduled: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._spacing = self.frame_s

    @property
    def scheduled(self) -> bool:
        """A flush is due; rows that arrive until then go with it."""
        return self._scheduled

    def arrived(self, now: float) -> float | None:
        """Rows arrived at ``now``: seconds until the flush to schedule, or None
        when one is scheduled already (they go with it)."""
        if self._scheduled:
            return None
        self._scheduled = True
        return max(0.0, self._last + self._spacing - now)

    def flushed(self, now: float, rows: int) -> None:
        """A flush ran at ``now`` and published ``rows`` rows."""
        self._scheduled = False
        self._last = now
        self._spacing = self.busy_s if rows >= self.busy_rows else self.frame_s

    def cancel(self) -> None:
        """The scheduled flush will not run (the controller is shutting down)."""
        self._scheduled = False
