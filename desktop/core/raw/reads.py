"""The network reads of one connection: where each began, when it arrived, its number.

A read is one chunk as the network handed it over (a ``RawChunk``).  The raw map
(map.py) appends one entry per read it is given; the Raw tab draws read
boundaries from the starts (spans.py) and finds the read a record came from by
its receive time (index.py), since every record a read produced carries that
read's ``at``.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right


class Reads:
    """Start offsets (absolute), receive times and wall times of the reads given.

    Reads are numbered from ``first``: the raw log's ordinal of the first read
    the map was given, so that numbers agree with the log after it dropped its
    oldest reads.
    """

    __slots__ = ("_at", "_wall", "first", "starts")

    def __init__(self) -> None:
        self.first = -1  # ordinal of the first read given (-1: none yet)
        self.starts = array("q")
        self._at = array("d")
        self._wall = array("d")

    def __len__(self) -> int:
        return len(self.starts)

    def append(self, start: int, at: float, wall: float) -> None:
        if self.first < 0:
            self.first = 0
        self.starts.append(start)
        self._at.append(at)
        self._wall.append(wall)

    def index(self, at: float) -> int:
        """The index of the read received at ``at`` (-1 when none is kept)."""
        i = bisect_left(self._at, at)
        return i if i < len(self._at) and self._at[i] == at else -1

    def info(self, index: int, end: int) -> tuple[int, int, float, float]:
        """``(start, end, at, wall)`` of read ``index``; ``end`` ends the last."""
        starts = self.starts
        stop = starts[index + 1] if index + 1 < len(starts) else end
        return starts[index], stop, self._at[index], self._wall[index]

    def holding(self, offset: int) -> int:
        """The index of the read holding byte ``offset``."""
        return max(0, bisect_right(self.starts, offset) - 1)

    def ordinal(self, offset: int) -> int:
        """The log's ordinal of the read holding ``offset``."""
        return self.first + self.holding(offset)
