"""Sent log: what each subscription wrote (lab on), bounded per log and in all.

Kept per write, not per event: the write's events as its producer handed them
over (a list of the broker's events, no copy; or the ticker's ``TickIds`` range,
which names its ticks only when read), its wall time, the running total after it
and the bytes it keeps alive, as one tuple in one deque.  A write then costs one
append (and, once the log is full, one popleft) whatever it holds, so a ticker
writing a thousand ticks at once pays as little with the lab on as without it,
and one writing a tick at a time pays that per tick
(tests/benchmarks/bench_server.py measures both).

Bounds: each log keeps its last ``limit`` events, and every log of the server
draws on one `SentBudget` of bytes; past it the oldest closed subscriptions'
logs are emptied first, then the growing log's own oldest writes.

Positions are running counts of what a subscription sent (1 is its first event
with an id), never indexes into the deque, so a cursor made of them (see
`server.lab_records`) stays valid while old writes are trimmed.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator

WRITE_BYTES = 120  # a write's own cost in the log: its record, a float, an int
EVENT_BYTES = 16  # an event's reference in the write's list


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


# One write as the log keeps it: the log's `total` after it (it holds positions
# end - len(events) + 1 .. end), its events, its wall time, the bytes it keeps
# alive.  A plain tuple: a NamedTuple's __new__ is a Python call, which made a
# write cost more than the four deques this replaced.
Write = tuple[int, Sents, float, int]
_END: Final = 0
_SIZE: Final = 3


class SentLog:
    """One subscription's writes: its last ``limit`` events and when each went out."""

    __slots__ = ("_budget", "_writes", "limit", "size", "total")

    def __init__(self, limit: int, budget: SentBudget) -> None:
        self.limit = limit
        self.total = 0  # events with an id sent, all time
        self.size = 0  # bytes this log keeps alive now (an estimate)
        self._budget = budget
        self._writes: deque[Write] = deque()

    def add(self, events: Sents, wall: float, nbytes: int) -> None:
        """One write of ``events``; ``nbytes`` is what they keep alive (frames)."""
        n = len(events)
        if not n:
            return
        self.total = total = self.total + n
        size = WRITE_BYTES + EVENT_BYTES * n + nbytes
        writes = self._writes
        writes.append((total, events, wall, size))
        floor = total - self.limit
        while writes[0][_END] <= floor:  # wholly older than `limit`: let go
            size -= writes.popleft()[_SIZE]
        self.size += size
        budget = self._budget
        budget.used += size
        if budget.used > budget.limit:
            budget.settle(self)

    def _pop(self) -> None:
        size = self._writes.popleft()[_SIZE]
        self.size -= size
        self._budget.used -= size

    def trim(self, budget: SentBudget) -> None:
        """Drop this log's oldest writes while over the budget (the newest stays)."""
        while budget.used > budget.limit and len(self._writes) > 1:
            self._pop()

    def clear(self) -> None:
        """Let go of every write (``total`` stays)."""
        while self._writes:
            self._pop()

    def close(self, number: int) -> None:
        """The subscription closed: its log goes first when the budget runs out."""
        if self._writes:
            self._budget.closed[number] = self

    def forget(self, number: int) -> None:
        """The hub lets go of the subscription: free everything now."""
        self._budget.closed.pop(number, None)
        self.clear()

    @property
    def first(self) -> int:
        """Position of the oldest event kept (``total + 1`` when none is)."""
        if not self._writes:
            return self.total + 1
        end, events, _, _ = self._writes[0]
        oldest = end - len(events) + 1
        return max(oldest, self.total - self.limit + 1)

    def entries(self, after: int, limit: int) -> tuple[list[dict[str, object]], int]:
        """Up to ``limit`` events kept past position ``after``, oldest first.

        Also the position of the last one returned (``after`` when none is).
        """
        out: list[dict[str, object]] = []
        skip_to = max(after, self.first - 1)
        last = after
        for end, meta, wall, _ in self._writes:
            if len(out) >= limit:
                break
            if end <= skip_to:
                continue
            start = end - len(meta)  # this write holds positions start + 1 .. end
            skip = max(0, skip_to - start)
            taken = 0
            for event in itertools.islice(meta, skip, skip + limit - len(out)):
                out.append({"id": event.id, "type": event.type, "sent": wall})
                taken += 1
            last = start + skip + taken
        return out, last
