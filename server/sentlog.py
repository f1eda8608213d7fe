"""Sent log: what each subscription wrote (lab on), bounded per log and in all.

Kept per write, not per event: the write's running total after it, its wall
time and the bytes it keeps alive, each in a list of plain numbers (four
lists, one slot each per write: a list append is the cheapest store there is),
and its events as its producer handed them over (a list of the broker's events,
no copy), or, for a source whose ids are a counter (the ticker's `IdRange`),
only the number of its first id.  A ticker write so leaves no object behind
that the garbage collector tracks: a tuple or a range object kept per write
made the collector run three times as often with the lab on, and that, not
the append, was most of what the lab cost a ticker writing one tick at a time
(tests/benchmarks/bench_server.py measures writes of one tick and of 64 KiB).

Bounds: each log keeps its last ``limit`` events, and every log of the server
draws on one `SentBudget` of bytes; past it the oldest closed subscriptions'
logs are emptied first, then the growing log's own oldest writes.

Positions are running counts of what a subscription sent (1 is its first event
with an id), never indexes into the arrays, so a cursor made of them (see
`server.lab_records`) stays valid while old writes are trimmed.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator

WRITE_BYTES = 120  # a write's own cost in the log: its numbers, its list slot
EVENT_BYTES = 16  # an event's reference in the write's list
# Trimmed writes leave the front of the arrays once this many are dead and they
# are at least half of them: deleting the front moves the rest, so doing it
# rarely keeps a trim O(1) on average.
_COMPACT = 1024


class Sent(Protocol):
    """One event with an id as the sent log keeps it (a `StoredEvent`, a tick)."""

    @property
    def id(self) -> str: ...

    @property
    def type(self) -> str: ...


class Sents(Protocol):
    """The events with an id one write holds, in order."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Sent]: ...


class SentRef(NamedTuple):
    """One event of an `IdRange`, named when the lab reads the log."""

    id: str
    type: str


class IdRange:
    """Events ``start`` .. ``stop - 1`` of one write, ids their numbers, one type.

    A subclass per source names the type (the ticker's `TickIds`); a log keeps
    only ``start`` of each write and makes the range again when it is read.
    """

    __slots__ = ("start", "stop")
    type: ClassVar[str] = ""

    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self) -> Iterator[SentRef]:
        kind = self.type
        return (SentRef(str(i), kind) for i in range(self.start, self.stop))


class SentBudget:
    """The bytes all sent logs together may keep; closed logs are let go first."""

    __slots__ = ("closed", "limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        # Logs of closed subscriptions still holding writes, oldest closed first.
        self.closed: dict[int, SentLog] = {}

    def settle(self, growing: SentLog) -> None:
        """Back under the limit: empty the oldest closed logs, then trim ``growing``."""
        while self.used > self.limit and self.closed:
            oldest = next(iter(self.closed))
            self.closed.pop(oldest).clear()
        if self.used > self.limit:
            growing.trim(self)


class SentLog:
    """One subscription's writes: its last ``limit`` events and when each went out.

    Write i (``head <= i < len(ends)``) holds positions ``ends[i - 1] + 1 ..
    ends[i]`` (``before + 1 ..`` for i = 0), went out at ``walls[i]`` and keeps
    ``sizes[i]`` bytes; ``events[i]`` names them, or is the first id's number
    when they were an id range of class ``ranges``.
    """

    __slots__ = (
        "_before",
        "_budget",
        "_ends",
        "_events",
        "_head",
        "_ranges",
        "_sizes",
        "_walls",
        "limit",
        "size",
        "total",
    )

    def __init__(self, limit: int, budget: SentBudget) -> None:
        self.limit = limit
        self.total = 0  # events with an id sent, all time
        self.size = 0  # bytes this log keeps alive now (an estimate)
        self._budget = budget
        self._ends: list[int] = []
        self._walls: list[float] = []
        self._sizes: list[int] = []
        self._events: list[Sents | int] = []
        self._head = 0  # the oldest write kept
        self._before = 0  # the end of the write before index 0
        self._ranges: type[IdRange] | None = None  # the id ranges this log got

    def add(self, events: Sents, wall: float, nbytes: int) -> None:
        """One write of ``events``; ``nbytes`` is what they keep alive (frames)."""
        n = len(events)
        if not n:
            return
        keep: Sents | int = events
        if isinstance(events, IdRange):  # keep a number, the range made on reading
            if self._ranges is None:
                self._ranges = type(events)
            if type(events) is self._ranges:  # one source per log, so always
                keep = events.start
        self._events.append(keep)
        self.total = total = self.total + n
        size = WRITE_BYTES + EVENT_BYTES * n + nbytes
        ends, sizes = self._ends, self._sizes
        ends.append(total)
        self._walls.append(wall)
        sizes.append(size)
        floor = total - self.limit
        head = self._head
        if ends[head] <= floor:  # wholly older than `limit`: let go (inlined
            kept = self._events  # `_pop`, as a full log does it every write)
            while ends[head] <= floor:
                size -= sizes[head]
                kept[head] = 0  # free its events now
                head += 1
            self._head = head
            if head >= _COMPACT and 2 * head >= len(ends):
                self._compact()
        self.size += size
        budget = self._budget
        budget.used += size
        if budget.used > budget.limit:
            budget.settle(self)

    def _compact(self) -> None:
        """Delete the dropped writes from the front of the lists."""
        head = self._head
        self._before = self._ends[head - 1]
        del self._ends[:head], self._walls[:head], self._sizes[:head]
        del self._events[:head]
        self._head = 0

    def _pop(self) -> None:
        """Let go of the oldest write."""
        head = self._head
        size = self._sizes[head]
        self._events[head] = 0  # free its events now
        self._head = head + 1
        if head + 1 >= _COMPACT and 2 * (head + 1) >= len(self._ends):
            self._compact()
        self.size -= size
        self._budget.used -= size

    @property
    def _count(self) -> int:
        return len(self._ends) - self._head

    def trim(self, budget: SentBudget) -> None:
        """Drop this log's oldest writes while over the budget (the newest stays)."""
        while budget.used > budget.limit and self._count > 1:
            self._pop()

    def clear(self) -> None:
        """Let go of every write (``total`` stays)."""
        freed = sum(self._sizes[self._head :])
        self.size -= freed
        self._budget.used -= freed
        self._before = self.total
        self._head = 0
        del self._ends[:], self._walls[:], self._sizes[:], self._events[:]

    def close(self, number: int) -> None:
        """The subscription closed: its log goes first when the budget runs out."""
        if self._count:
            self._budget.closed[number] = self

    def forget(self, number: int) -> None:
        """The hub lets go of the subscription: free everything now."""
        self._budget.closed.pop(number, None)
        self.clear()

    def _start(self, i: int) -> int:
        """The position before write i's first event."""
        return self._ends[i - 1] if i else self._before

    @property
    def first(self) -> int:
        """Position of the oldest event kept (``total + 1`` when none is)."""
        if not self._count:
            return self.total + 1
        return max(self._start(self._head) + 1, self.total - self.limit + 1)

    def _named(self, i: int) -> Sents:
        """Write i's events, an id range made again from its first id."""
        events = self._events[i]
        if isinstance(events, int):
            assert self._ranges is not None
            return self._ranges(events, events + self._ends[i] - self._start(i))
        return events

    def entries(self, after: int, limit: int) -> tuple[list[dict[str, object]], int]:
        """Up to ``limit`` events kept past position ``after``, oldest first.

        Also the position of the last one returned (``after`` when none is).
        """
        out: list[dict[str, object]] = []
        skip_to = max(after, self.first - 1)
        last = after
        for i in range(self._head, len(self._ends)):
            if len(out) >= limit:
                break
            end = self._ends[i]
            if end <= skip_to:
                continue
            start = self._start(i)  # this write holds positions start + 1 .. end
            wall = self._walls[i]
            skip = max(0, skip_to - start)
            taken = 0
            events = itertools.islice(self._named(i), skip, skip + limit - len(out))
            for event in events:
                out.append({"id": event.id, "type": event.type, "sent": wall})
                taken += 1
            last = start + skip + taken
        return out, last
