"""Records and bytes find each other: one lazily kept map per connection.

Every record the engine yields for a network read carries that read's ``at``
(the RawChunk comes first in its batch, then what the decoder made of it), and
the decoder yields a read's events, comments and ``retry:`` fields in byte
order.  So an Event is "the j-th event of the read of connection c received at
``at``", and the map (map.py) says which bytes made the j-th event of that
read.  Timeline rows are in receive order, so the read's records are found by
bisecting on ``at``: both directions cost O(log n + records of one read), with
100k rows retained too.

Maps are built only when asked, cached per connection and extended with the
reads that arrived since (the log's ``generation`` says when to look); a map is
rebuilt when the log dropped more than the bytes it still holds, so the work
per byte stays constant.  Building goes in time slices (:meth:`RawIndex.advance`)
so that the UI loop never waits for a whole map.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from desktop.core.engine.records import Comment, Event, RetryField
from desktop.core.raw.map import Output, RawMap

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.core.engine.records import Record
    from desktop.core.raw.log import ConnectionBytes, RawLog

_KIND_OF = {Event: Output.EVENT, Comment: Output.COMMENT, RetryField: Output.RETRY}
_CLASS_OF = {Output.EVENT: Event, Output.COMMENT: Comment, Output.RETRY: RetryField}
# What an output may have become: a line begun in dropped bytes may have been
# a comment or a retry field; only the records of its read can tell.
_CANDIDATES = {
    Output.EVENT: (Output.EVENT,),
    Output.MAYBE_EVENT: (Output.EVENT,),
    Output.COMMENT: (Output.COMMENT,),
    Output.RETRY: (Output.RETRY,),
    Output.MAYBE_LINE: (Output.COMMENT, Output.RETRY),
}


@dataclass(frozen=True, slots=True)
class Located:
    """The bytes ``[start, end)`` of ``connection`` that made a record."""

    connection: int
    start: int
    end: int
    output: int


@dataclass(slots=True)
class _Entry:
    source: ConnectionBytes
    map: RawMap
    next_read: int  # ordinal of the next read to give the map
    generation: int = -1  # the log's generation when last caught up
    successor: _Entry | None = None  # a smaller map being built to replace it


class RawIndex:
    """The maps of one stream's connections, over its :class:`RawLog`.

    ``limit`` is the decoder's ``max_event_bytes`` (the stream's options): maps
    model what it skips, and are rebuilt when it changes.

    Building a map costs about a second for a full 4 MB log, so the UI never
    asks for it at once: :meth:`advance` works until a deadline and says None
    when the map is not ready yet (the view tries again on its next slice).  A
    map that outgrew the log (it holds more dropped bytes than kept ones) keeps
    answering while its successor is built the same way, then gives way.
    """

    def __init__(self, log: RawLog, limit: int = 1 << 20) -> None:
        self.log = log
        self.limit = limit
        self._entries: dict[int, _Entry] = {}

    def map(self, connection: int) -> RawMap | None:
        """The map of ``connection``, brought up to date; None without bytes."""
        return self.advance(connection, math.inf)

    def advance(self, connection: int, deadline: float) -> RawMap | None:
        """Work on the map of ``connection`` until ``deadline`` (``perf_counter``).

        The map when it is up to date; None when there are no bytes or it is
        not ready yet (:meth:`progress` says how far it got).
        """
        log = self.log
        conn = log.connection(connection)
        if conn is None:
            self._entries.pop(connection, None)
            return None
        entry = self._entries.get(connection)
        if (
            entry is not None
            and entry.generation == log.generation
            and entry.map.limit == self.limit
            and entry.successor is None
        ):
            return entry.map
        if (
            entry is None
            or entry.source is not conn
            or entry.next_read < conn.first_chunk  # reads it never saw were dropped
            or entry.map.limit != self.limit
        ):
            entry = self._entries[connection] = self._fresh(conn)
        elif entry.successor is None and conn.start - entry.map.base > max(
            conn.size, 1 << 16
        ):
            entry.successor = self._fresh(conn)
        if not _feed(entry, conn, deadline):
            return None
        entry.generation = log.generation
        successor = entry.successor
        if successor is not None and (
            successor.next_read < conn.first_chunk or successor.source is not conn
        ):
            successor = entry.successor = self._fresh(conn)
        if successor is not None and _feed(successor, conn, deadline):
            successor.generation = log.generation
            self._entries[connection] = entry = successor
        return entry.map

    def current(self, connection: int) -> RawMap | None:
        """The map as it is, when it has read every kept read; else :meth:`map`.

        What finding records uses: a successor being built is left to the
        slices, never finished here.
        """
        entry = self._entries.get(connection)
        if (
            entry is not None
            and entry.generation == self.log.generation
            and entry.map.limit == self.limit
            and entry.source is self.log.connection(connection)
        ):
            return entry.map
        return self.map(connection)

    def busy(self, connection: int) -> bool:
        """Whether a map of ``connection`` is being built (or replaced)."""
        entry = self._entries.get(connection)
        return entry is not None and (
            entry.successor is not None or entry.generation != self.log.generation
        )

    def progress(self, connection: int) -> float:
        """How much of ``connection``'s kept bytes its map has read (0 to 1)."""
        conn = self.log.connection(connection)
        entry = self._entries.get(connection)
        if conn is None or entry is None or not conn.size:
            return 0.0
        return max(0.0, min(1.0, (entry.map.end - conn.start) / conn.size))

    def _fresh(self, conn: ConnectionBytes) -> _Entry:
        fresh = RawMap(conn.start, conn.before, limit=self.limit)
        fresh.reads.first = conn.first_chunk  # numbered as the log
        return _Entry(conn, fresh, conn.first_chunk)

    def forget(self) -> None:
        self._entries.clear()

    # -- record -> bytes ----------

    def locate(self, rows: Sequence[Record], index: int) -> Located | None:
        """The bytes of ``rows[index]`` (an Event, Comment or RetryField).

        None when the record has no bytes (a state record) or its read is no
        longer kept.
        """
        record = rows[index]
        kind = _KIND_OF.get(type(record))
        if kind is None:
            return None
        connection: int = record.connection  # type: ignore[union-attr]
        raw = self.current(connection)
        if raw is None:
            return None
        read = raw.reads.index(record.at)
        if read < 0:
            return None
        lo, hi = _group(rows, index)
        same = [
            r
            for r in rows[lo:hi]
            if type(r) is type(record) and r.connection == connection  # type: ignore[union-attr]
        ]
        outputs = _outputs(raw, read, kind, len(same))
        j = next(i for i, r in enumerate(same) if r is record)
        j += _trimmed(lo, outputs, same)
        if j >= len(outputs):
            return None
        output = outputs[j]
        start, end = raw.output_span(output)
        return Located(connection, start, end, output)

    # -- bytes -> record ----------

    def row_of(
        self, rows: Sequence[Record], connection: int, output: int
    ) -> int | None:
        """The index in ``rows`` of the record output ``output`` became, if kept."""
        raw = self.current(connection)
        if raw is None or not 0 <= output < raw.outputs:
            return None
        kind, read, _line = raw.output(output)
        at = raw.reads.info(read, raw.end)[2]
        lo = bisect_left(rows, at, key=_at)
        hi = lo
        while hi < len(rows) and rows[hi].at == at:
            hi += 1
        for candidate in _CANDIDATES[kind]:
            cls = _CLASS_OF[candidate]
            same = [
                i
                for i in range(lo, hi)
                if type(rows[i]) is cls and rows[i].connection == connection  # type: ignore[union-attr]
            ]
            outputs = _outputs(raw, read, candidate, len(same))
            if output in outputs:
                j = outputs.index(output) - _trimmed(lo, outputs, same)
                return same[j] if 0 <= j < len(same) else None
        return None


def _feed(entry: _Entry, conn: ConnectionBytes, deadline: float) -> bool:
    """Give the map the reads it has not seen, until ``deadline``; True when done.

    One read at a time (a read is scanned whole); ``islice`` skips the reads
    already seen in C, where indexing the deque would walk it for every read.
    """
    total = conn.first_chunk + len(conn.chunks)
    if entry.next_read >= total:
        return True
    extend = entry.map.extend
    clock = time.perf_counter
    for chunk in islice(conn.chunks, entry.next_read - conn.first_chunk, None):
        extend(chunk.data, chunk.at, chunk.wall)
        entry.next_read += 1
        if entry.next_read < total and clock() > deadline:
            return False
    return True


def _at(record: Record) -> float:
    return record.at


def _group(rows: Sequence[Record], index: int) -> tuple[int, int]:
    """The rows of the same read as ``rows[index]`` (contiguous, same ``at``)."""
    at = rows[index].at
    lo = index
    while lo > 0 and rows[lo - 1].at == at:
        lo -= 1
    hi = index + 1
    while hi < len(rows) and rows[hi].at == at:
        hi += 1
    return lo, hi


def _trimmed(lo: int, outputs: list[int], same: Sequence[object]) -> int:
    """How many of a read's records retention trimmed from the front of rows.

    Retention only ever drops the oldest rows, so only the read at ``rows[0]``
    can have lost some, and it lost its first ones: its records then match the
    map's outputs counted from the end of the read.
    """
    return max(0, len(outputs) - len(same)) if lo == 0 else 0


def _outputs(raw: RawMap, read: int, kind: Output, records: int) -> list[int]:
    """The outputs of one read that are records of ``kind``, in order.

    A block that began in dropped bytes and showed no data line (MAYBE_EVENT)
    counts as an event only when the read has one Event record more than the
    map's sure events; a line begun there (MAYBE_LINE) likewise for comments
    and retry fields.
    """
    outs = raw.outputs_of_read(read)
    maybe = Output.MAYBE_EVENT if kind is Output.EVENT else Output.MAYBE_LINE
    sure = [i for i in outs if raw.output(i)[0] is kind]
    if records <= len(sure):
        return sure
    return [i for i in outs if raw.output(i)[0] in (kind, maybe)]


__all__ = ["Located", "RawIndex"]
