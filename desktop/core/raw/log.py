"""The raw bytes of one stream as received: a bounded log of network reads.

Each :class:`RawChunk` is one network read of one connection, kept whole and in
receive order until the log holds more than its limit; then the oldest reads go,
whole, and are counted.  Memory stays predictable: at most ``limit`` bytes of
data plus the newest read (a single read bigger than the limit is kept, or the
newest bytes could never be shown), plus a small fixed cost per read.

Adding is O(1): one append to the stream's deque and one to the connection's,
and every drop pops the front of both (reads of a connection are in receive
order, so the stream's oldest read is also its connection's oldest).  Offsets
are absolute per connection (byte 0 is the first byte of the response body), so
they stay valid when older reads go.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from desktop.core.engine.records import RawChunk

DEFAULT_LIMIT = 4 << 20  # bytes


@dataclass(slots=True, eq=False)
class ConnectionBytes:
    """The retained reads of one connection; ``start``/``end`` are body offsets."""

    connection: int
    chunks: deque[RawChunk] = field(default_factory=deque)
    start: int = 0  # offset of the first retained byte (bytes dropped before it)
    end: int = 0  # offset after the last byte received
    first_chunk: int = 0  # ordinal of the first retained read (reads dropped before)
    before: int = -1  # the last dropped byte (a CR there pairs with a leading LF)

    @property
    def size(self) -> int:
        return self.end - self.start

    @property
    def truncated(self) -> bool:
        """The oldest bytes of this connection were dropped."""
        return self.start > 0

    def data(self) -> bytes:
        """The retained bytes, joined (for the view and the map, off the hot path)."""
        return b"".join(chunk.data for chunk in self.chunks)


class RawLog:
    """A bounded log of one stream's network reads, oldest dropped first."""

    __slots__ = (
        "_by_connection",
        "_chunks",
        "_limit",
        "dropped_bytes",
        "dropped_chunks",
        "generation",
        "received_bytes",
        "size",
    )

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = max(1, limit)
        self._chunks: deque[RawChunk] = deque()
        self._by_connection: dict[int, ConnectionBytes] = {}
        self.size = 0  # bytes held
        self.received_bytes = 0  # bytes ever added
        self.dropped_bytes = 0
        self.dropped_chunks = 0
        self.generation = 0  # grows on every change: caches compare it

    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int) -> None:
        """Change the bound while running; a smaller one drops the oldest at once."""
        self._limit = max(1, limit)
        self._trim()
        self.generation += 1

    def add(self, chunk: RawChunk) -> None:
        """Keep one read (the session's hot path: O(1), amortised)."""
        n = len(chunk.data)
        if not n:
            return
        conn = self._by_connection.get(chunk.connection)
        if conn is None:
            conn = self._by_connection[chunk.connection] = ConnectionBytes(
                chunk.connection
            )
        conn.chunks.append(chunk)
        conn.end += n
        self._chunks.append(chunk)
        self.size += n
        self.received_bytes += n
        self.generation += 1
        if self.size > self._limit:
            self._trim()

    def _trim(self) -> None:
        chunks, by_connection = self._chunks, self._by_connection
        while self.size > self._limit and len(chunks) > 1:
            old = chunks.popleft()
            n = len(old.data)
            self.size -= n
            self.dropped_bytes += n
            self.dropped_chunks += 1
            conn = by_connection[old.connection]
            conn.chunks.popleft()
            conn.start += n
            conn.first_chunk += 1
            conn.before = old.data[-1]
            if not conn.chunks:
                del by_connection[old.connection]

    def clear(self) -> None:
        """Forget every read kept (the user cleared the stream).

        The newest connection keeps its offsets: its next bytes continue the
        body mid-stream, not a new one (where a BOM would be looked for).
        """
        newest = max(self._by_connection, default=None)
        if newest is not None:
            conn = self._by_connection[newest]
            if conn.chunks:  # a second Clear finds them gone already
                conn.before = conn.chunks[-1].data[-1]
                conn.first_chunk += len(conn.chunks)
            conn.start = conn.end
            conn.chunks.clear()
            self._by_connection = {newest: conn}
        self._chunks.clear()
        self.size = 0
        self.generation += 1

    # -- reading ----------

    def chunks(self) -> Iterator[RawChunk]:
        """Every retained read, in receive order (recordings save these)."""
        return iter(tuple(self._chunks))

    def connections(self) -> list[int]:
        """Connections with retained bytes, oldest first."""
        return sorted(n for n, conn in self._by_connection.items() if conn.chunks)

    def connection(self, number: int) -> ConnectionBytes | None:
        conn = self._by_connection.get(number)
        return conn if conn is not None and conn.chunks else None

    def __len__(self) -> int:
        return len(self._chunks)


__all__ = ["DEFAULT_LIMIT", "ConnectionBytes", "RawLog"]
