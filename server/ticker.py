"""Ticker: a synthetic topic for load and speed tests; event i is a pure function of i.

Its ids are its sequence numbers, so a resume from id i starts at i + 1 and needs no
log; the same parameters give the same bytes on every run.  Events that are due
together are formatted into one chunk (one send), which is where the speed comes from.
"""

from __future__ import annotations

import math

from server.sentlog import IdRange
from server.subscriptions import Chunk

_PATTERN = "abcdefghijklmnopqrstuvwxyz0123456789"
MAX_COUNT = 100_000_000
MAX_SIZE = 64 * 1024  # bytes of data per event
MAX_RATE = 1_000_000.0  # events per second; 0 means as fast as possible


def tick_data(i: int, size: int) -> str:
    """The ``data`` of event i: ``{"i":i,"pad":"..."}``, padded to ``size`` bytes."""
    bare = len(f'{{"i":{i},"pad":""}}')
    return f'{{"i":{i},"pad":"{_pad(i, size - bare)}"}}'


def _pad(i: int, length: int) -> str:
    if length <= 0:
        return ""
    start = i % len(_PATTERN)
    repeat = (start + length) // len(_PATTERN) + 1
    return (_PATTERN * repeat)[start : start + length]


def tick_frames(start: int, stop: int, size: int) -> bytes:
    """The wire bytes of events ``start`` .. ``stop - 1`` (``id: i``, type ``tick``)."""
    return "".join(
        [
            f"id: {i}\nevent: tick\ndata: {tick_data(i, size)}\n\n"
            for i in range(start, stop)
        ]
    ).encode()


TICK_IDS_BYTES = 64  # what a `TickIds` keeps alive in a sent log: its first id


class TickIds(IdRange):
    """Ticks ``start`` .. ``stop - 1`` of one write, named only when the lab asks."""

    __slots__ = ()
    type = "tick"


class Ticker:
    """The pull `Source` for one ticker subscription."""

    def __init__(
        self, *, start: int, count: int, rate: float, size: int, now: float
    ) -> None:
        self._start = start
        self._next = start
        self._count = count
        self._rate = rate
        self._size = size
        self._t0 = now
        # a frame is about 40 bytes of fields plus the data
        self._frame_estimate = 40 + max(size, 20)

    @property
    def done(self) -> bool:
        return self._next >= self._count

    def next_due(self) -> float | None:
        if self.done:
            return None
        if self._rate <= 0:
            return self._t0
        return self._t0 + (self._next - self._start) / self._rate

    def take(self, now: float, budget: int) -> Chunk:
        fit = max(1, budget // self._frame_estimate)
        stop = min(self._count, self._next + fit)
        if self._rate > 0:
            due = self._start + math.floor((now - self._t0) * self._rate) + 1
            stop = min(stop, due)
        if stop <= self._next:
            return Chunk(b"", 0, None)
        data = tick_frames(self._next, stop, self._size)
        ids = TickIds(self._next, stop)
        chunk = Chunk(data, stop - self._next, str(stop - 1), ids, TICK_IDS_BYTES)
        self._next = stop
        return chunk
