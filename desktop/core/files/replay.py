"""Replay: a recording as the bytes a server sends again, when, and with which id.

``sse-viewer mock`` serves what this computes (the server's side is
``server/mock.py``).  A recording's connections are glued end to end: each
one's time counts from its ``Open``, and the time between one connection's end
and the next one's open (the client's reconnect) is left out.

Each connection is replayed from its raw bytes when the recording holds them
(saved with "Include raw bytes"): that is the exact wire.  The raw map
(desktop/core/raw/map.py, held to the decoder by its property test) says where
each block ends, so the bytes are cut at every block end and every network
read: a piece is sent at the time of the read it came in, and an event's last
piece is a resume point.  The bytes must give back exactly the connection's
``Event`` records (type, data, id); if they do not (raw reads trimmed by the
raw log's bound, say), that connection is rebuilt from its records instead.

Rebuilt from records, an event carries an ``id:`` line only where the id in
force changed (an ``Event``'s ``id`` is the last event ID in force, not a field
the server sent), ``retry:`` and comments (when recorded) go as their own blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    Event,
    Open,
    RawChunk,
    Reconnecting,
    RetryField,
)
from desktop.core.files.recording import RecordingError, RecordingReader
from desktop.core.raw.kinds import Fate, Output
from desktop.core.raw.map import RawMap
from desktop.core.raw.target import event_of

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from desktop.core.engine.records import ErrorResponse, Record
    from desktop.core.files.recording import RecordingHeader


class ReplayError(RecordingError):
    """A readable recording with nothing to replay (no event stream); says why."""


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes to send ``at`` seconds into the replay.

    ``event`` is the type of the event the piece ends (None: it ends none; only
    an event's end is a resume point); ``id`` the last event ID in force after
    it, as of its last event; ``retry`` the reconnection time in force after
    it (None: never set).
    """

    at: float
    data: bytes
    event: str | None
    id: str
    retry: int | None


@dataclass(frozen=True, slots=True)
class Replay:
    """What a mock server sends: ``pieces`` in time order, over ``duration`` s."""

    pieces: tuple[Piece, ...]
    duration: float
    url: str  # the recorded URL (secrets masked when it was saved so)
    events: int
    raw: int  # connections replayed from their raw bytes
    rebuilt: int  # connections rebuilt from their records
    notes: tuple[str, ...] = ()  # what was skipped or rebuilt, for the user

    @property
    def path(self) -> str:
        """The recorded URL's path: where the mock serves it by default."""
        return urlsplit(self.url).path or "/"


@dataclass(slots=True)
class _Connection:
    number: int
    seed: str = ""  # the Last-Event-ID its attempt sent
    opened: float | None = None
    ended: float | None = None
    items: list[Event | Comment | RetryField] = field(default_factory=list)
    chunks: list[RawChunk] = field(default_factory=list)

    @property
    def start(self) -> float:
        if self.opened is not None:
            return self.opened
        times = [r.at for r in (*self.items, *self.chunks)]
        return min(times, default=0.0)

    @property
    def end(self) -> float:
        times = [r.at for r in (*self.items, *self.chunks)]
        last = max(times, default=self.start)
        return last if self.ended is None else max(last, self.ended)


def load(path: str | os.PathLike[str]) -> Replay:
    """The replay of the recording at ``path``; RecordingError says what is wrong."""
    with RecordingReader.open(path) as reader:
        rows = list(reader.records())
        skipped = reader.summary()
        replay = replay_of(reader.header, rows)
    if skipped:
        return replace(replay, notes=(skipped, *replay.notes))
    return replay


def replay_of(header: RecordingHeader, rows: Sequence[Record]) -> Replay:
    """The pieces of a recording's records; ReplayError when none is an event."""
    connections, answered = _connections(rows)
    pieces: list[Piece] = []
    notes: list[str] = []
    raw_count = rebuilt = 0
    base = 0.0
    last_id, retry = "", None
    limit = header.options.max_event_bytes
    for conn in connections:
        start = conn.start
        own = None
        if conn.chunks:
            own = _raw_pieces(conn, limit, retry)
            if own is None:
                notes.append(
                    f"connection {conn.number}: its raw bytes do not give back its "
                    "events (some were not kept): rebuilt from its records"
                )
        if own is None:
            own = _record_pieces(conn.items, last_id, retry)
            rebuilt += 1
        else:
            raw_count += 1
        for piece in own:
            at = base + max(0.0, piece.at - start)
            pieces.append(Piece(at, piece.data, piece.event, piece.id, piece.retry))
        if own:
            last_id, retry = own[-1].id, own[-1].retry
        base += max(0.0, conn.end - start)
    events = sum(1 for piece in pieces if piece.event is not None)
    if not events:
        raise ReplayError(_nothing(answered))
    duration = max(base, pieces[-1].at)
    return Replay(
        tuple(pieces), duration, header.url, events, raw_count, rebuilt, tuple(notes)
    )


def _nothing(answered: ErrorResponse | None) -> str:
    if answered is not None:
        kind = answered.content_type or "no Content-Type"
        return (
            f"the recording holds no event stream: the server answered "
            f"{answered.status} {answered.reason} ({kind}); nothing to replay"
        )
    return "the recording holds no events: nothing to replay"


def _connections(
    rows: Sequence[Record],
) -> tuple[list[_Connection], ErrorResponse | None]:
    """The recording's connections in order, and the last non-stream answer."""
    found: dict[int, _Connection] = {}
    answered: ErrorResponse | None = None
    current = 0

    def conn(number: int) -> _Connection:
        got = found.get(number)
        if got is None:
            got = found[number] = _Connection(number)
        return got

    for row in rows:
        if isinstance(row, Event | Comment | RetryField):
            conn(row.connection).items.append(row)
        elif isinstance(row, RawChunk):
            conn(row.connection).chunks.append(row)
        elif isinstance(row, Connecting):
            current = row.attempt
            conn(current).seed = row.last_event_id
        elif isinstance(row, Open):
            conn(row.connection).opened = row.at
        elif isinstance(row, Reconnecting | Closed):
            if isinstance(row, Reconnecting):
                current = row.attempt
            if current in found:
                found[current].ended = row.at
            if row.response is not None:
                answered = row.response
    kept = [c for c in found.values() if c.items or c.chunks]
    return sorted(kept, key=lambda c: c.start), answered


def _raw_pieces(conn: _Connection, limit: int, retry: int | None) -> list[Piece] | None:
    """The connection's bytes cut at block ends and reads; None if they do not
    give back its events."""
    raw = RawMap(last_event_id=conn.seed, limit=limit)
    for chunk in conn.chunks:
        raw.extend(chunk.data, chunk.at, chunk.wall)
    ends: dict[int, tuple[str, str]] = {}  # event block end -> (type, id)
    found: list[tuple[str, str, str]] = []
    cuts = {raw.end}
    for block in range(raw.blocks):
        end = raw.block_span(block)[1]
        cuts.add(end)
        if raw.fate(block) is Fate.EVENT:
            mapped = event_of(raw, block)
            ends[end] = (mapped.type, mapped.id)
            found.append((mapped.type, mapped.data, mapped.id))
    recorded = [(e.type, e.data, e.id) for e in conn.items if isinstance(e, Event)]
    if found != recorded:
        return None
    retries: list[tuple[int, int]] = []  # (line end, ms)
    for index in range(raw.outputs):
        kind, _read, line = raw.output(index)
        if kind is Output.RETRY:
            value = raw.line_text(line).partition(":")[2]
            retries.append((raw.line(line)[2], int(value.removeprefix(" "))))
    cuts.update(raw.reads.starts[1:])
    pieces: list[Piece] = []
    last_id, start, r = conn.seed, 0, 0
    for cut in sorted(c for c in cuts if c > 0):
        while r < len(retries) and retries[r][0] <= cut:
            retry = retries[r][1]
            r += 1
        read = raw.reads.holding(cut - 1)
        at = raw.reads.info(read, raw.end)[2]
        event = ends.get(cut)
        etype = None
        if event is not None:
            etype, last_id = event
        pieces.append(Piece(at, raw.bytes(start, cut), etype, last_id, retry))
        start = cut
    return pieces


def _record_pieces(
    items: Sequence[Event | Comment | RetryField], last_id: str, retry: int | None
) -> list[Piece]:
    """The connection rebuilt: ``id:`` only where the id in force changed."""
    pieces: list[Piece] = []
    for item in items:
        if isinstance(item, RetryField):
            retry = item.ms
            pieces.append(
                Piece(item.at, b"retry: %d\n\n" % item.ms, None, last_id, retry)
            )
        elif isinstance(item, Comment):
            text = f": {item.text}\n\n".encode(errors="replace")
            pieces.append(Piece(item.at, text, None, last_id, retry))
        else:
            pieces.append(
                Piece(item.at, _frame(item, last_id), item.type, item.id, retry)
            )
            last_id = item.id
    return pieces


def _frame(event: Event, last_id: str) -> bytes:
    """An event's block; WHATWG 9.2.6: an empty ``id:`` resets the id in force."""
    parts: list[str] = []
    if event.id != last_id:
        parts.append(f"id: {event.id}\n" if event.id else "id:\n")
    if event.type != "message":
        parts.append(f"event: {event.type}\n")
    parts.extend(f"data: {line}\n" for line in event.data.split("\n"))
    parts.append("\n")
    return "".join(parts).encode(errors="replace")
