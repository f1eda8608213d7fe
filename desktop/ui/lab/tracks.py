"""What the lab keeps per client it compares: its lane and its events.

A `ClientTrack` is our client or the naive one.  `compare` checks a track
against the server's publish log from the track's own first open, and
`topic_of` names the server topic a stream URL reads (None: nothing logged).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from desktop.core.engine.records import Event
from desktop.core.lab.lanes import LaneBuilder

if TYPE_CHECKING:
    from desktop.core.engine.records import Record
    from desktop.core.lab.client import Published
    from desktop.core.lab.continuity import Continuity

MAX_EVENTS = 50_000  # received events kept for the comparison, per client


class ClientTrack:
    """One client's lane and the events it received (ours or the naive one).

    Batches arrive from the engine (``take``, O(1)) and are folded into the lane
    at the lab's 4 Hz refresh (``fold``), off the hot path.  The records
    themselves stay in the client's session store (the export reads them there).
    """

    def __init__(self, key: str, title: str) -> None:
        self.builder = LaneBuilder(key, title)
        self.events: list[Event] = []
        self.backlog: list[list[Record]] = []  # batches not folded in yet

    def take(self, batch: list[Record]) -> None:
        self.backlog.append(batch)

    def fold(self) -> None:
        backlog, self.backlog = self.backlog, []
        for batch in backlog:
            self.builder.feed(batch)
            self.events.extend(r for r in batch if isinstance(r, Event))
        if len(self.events) > MAX_EVENTS:
            del self.events[: len(self.events) - MAX_EVENTS]

    @property
    def first_open(self) -> float | None:
        """Wall time of this client's first answered connection."""
        return next(
            (s.opened for s in self.builder.segments if s.opened is not None), None
        )


def compare(track: ClientTrack, published: list[Published]) -> Continuity | None:
    """Check a client against what was published since its own first open.

    Before that instant nothing could reach it: a first connection carries no
    Last-Event-ID, so the server starts it live.  Counting from an earlier time
    (say the lab's start) would charge a late client with events it never could
    have had; counting from each reconnect instead would hide exactly the losses
    the naive client shows.  None until the client has opened once.
    """
    from desktop.core.lab.continuity import check

    opened = track.first_open
    if opened is None:
        return None
    span = [p for p in published if p.published >= opened]
    ids = {p.id for p in span}
    return check(span, [e for e in track.events if e.id in ids])


def topic_of(url: str) -> str | None:
    """The server topic a stream URL reads (None: not a logged topic)."""
    path = urlsplit(url).path.rstrip("/")
    if path == "/api/events":
        return "events"
    parts = path.split("/")
    if len(parts) == 5 and parts[1:3] == ["api", "jobs"] and parts[4] == "events":
        return f"job:{parts[3]}"
    return None
