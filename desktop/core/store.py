"""The records of one stream: one bounded store for the timeline, saves and the lab.

Qt-free, so bounds and counts are testable without a display.  The session adds
each network read's rows (to :attr:`RecordStore.intake`, row by row, then one
:meth:`RecordStore.cap`); a view *publishes* what arrived since its last look
(the timeline does so every flush, unless paused).

Published rows are numbered: row ``i`` of :meth:`RecordStore.rows` has sequence
number ``base + i``, and trimming the front never renumbers the rest, so a view
keeps sequence numbers instead of indexes, and a consumer keeps a cursor
(:meth:`RecordStore.since`).  A row waiting to be published has no number yet;
one dropped before it was published never gets one.

Nothing trims published rows behind a view's back: :meth:`RecordStore.trim` is
called by the view, which learns the count first (:meth:`RecordStore.overflow`)
and announces one removal.  Waiting rows that nobody publishes (a paused
timeline, a session without a view) are bounded by :meth:`RecordStore.cap`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    Error,
    Event,
    Notice,
    Open,
    Reconnecting,
    RetryField,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from desktop.core.engine.records import Record

Row = (
    Event
    | Comment
    | RetryField
    | Connecting
    | Open
    | Reconnecting
    | Closed
    | Error
    | Notice
)
"""What the store holds: every record but raw chunks (the raw log keeps those)."""

DEFAULT_RETENTION = 100_000
"""Rows a stream keeps unless the user says otherwise (the timeline's spin box)."""


@dataclass(slots=True, eq=False)
class RecordStore:
    """The newest ``retention`` rows of a stream, oldest first, and how many went.

    ``dropped`` counts rows lost to retention since the last :meth:`clear`.
    Published and waiting rows are two lists, so that the per-row appends to
    :attr:`intake` go to a short list and a flush moves them in one ``extend``.
    """

    retention: int = DEFAULT_RETENTION
    base: int = 0  # sequence number of the oldest published row
    dropped: int = 0
    _rows: list[Row] = field(default_factory=list, init=False, repr=False)
    _waiting: list[Row] = field(default_factory=list, init=False, repr=False)

    # -- writing ----------

    @property
    def intake(self) -> list[Row]:
        """The waiting rows' own list, for the session's per-row loop, which
        appends to it and calls :meth:`cap` once per read.

        ``intake.append(row)`` written in the loop is a call CPython 3.11
        specializes for lists; a bound ``append`` kept in a variable is not.
        """
        return self._waiting

    def extend(self, rows: Iterable[Row]) -> None:
        """Add rows after the waiting ones."""
        self._waiting.extend(rows)
        self.cap()

    def cap(self) -> None:
        """Bound the rows nobody publishes (a paused timeline, a session without one).

        Beyond twice ``retention`` of them, the oldest go, down to ``retention``:
        one cut per ``retention`` rows.  Published rows stay as a view shows them.
        """
        waiting = self._waiting
        if len(waiting) > 2 * self.retention:
            extra = len(waiting) - self.retention
            del waiting[:extra]
            self.dropped += extra

    def set_retention(self, retention: int) -> None:
        """Keep ``retention`` rows (at least one) from the next :meth:`trim` on."""
        self.retention = max(1, retention)

    def overflow(self, *, waiting: bool = True) -> int:
        """How many published rows :meth:`trim` (same ``waiting``) drops."""
        extra = len(self._rows) - self.retention
        if waiting:
            extra += len(self._waiting)
        return min(len(self._rows), max(0, extra))

    def trim(self, *, waiting: bool = True) -> int:
        """Keep the newest ``retention`` rows; returns how many went (the oldest;
        :meth:`overflow` of them were published).

        The waiting rows count when they are about to be published; without
        ``waiting`` (a paused view) only the published rows are trimmed.
        """
        rows = self._rows
        extra = len(rows) - self.retention
        if waiting:
            extra += len(self._waiting)
        if extra <= 0:
            return 0
        gone = min(extra, len(rows))
        del rows[:gone]
        del self._waiting[: extra - gone]
        self.base += gone
        self.dropped += extra
        return extra

    def publish(self) -> int:
        """Number the waiting rows, after the published ones; returns how many."""
        count = len(self._waiting)
        self._rows.extend(self._waiting)
        self._waiting.clear()
        return count

    def clear(self) -> int:
        """Forget every row and the dropped count; returns how many rows went."""
        count = len(self._rows) + len(self._waiting)
        self.base += len(self._rows)
        self._rows.clear()
        self._waiting.clear()
        self.dropped = 0
        return count

    # -- reading ----------

    @property
    def published(self) -> int:
        return len(self._rows)

    @property
    def waiting(self) -> int:
        """Rows added since the last :meth:`publish`."""
        return len(self._waiting)

    @property
    def records(self) -> Sequence[Row]:
        """The published rows, as one sequence that is changed in place, never
        replaced: a view may hold on to it and index it."""
        return self._rows

    def rows(self, first: int = 0, last: int | None = None) -> list[Row]:
        """Published rows ``[first:last]``, slice rules (``rows(-1)``: the last)."""
        return self._rows[first:last]

    def kept(self) -> list[Record]:
        """Every kept row, published then waiting, in a new list (a save merges
        raw chunks into it)."""
        return [*self._rows, *self._waiting]

    def at_seq(self, seq: int) -> Row | None:
        """The published row numbered ``seq``, if it is still kept."""
        i = seq - self.base
        return self._rows[i] if 0 <= i < len(self._rows) else None

    def since(self, cursor: int) -> tuple[list[Row], int]:
        """Published rows numbered ``cursor`` and on, and the cursor to pass next.

        Rows that retention or a clear dropped before the consumer looked are
        skipped: the cursor only moves forward.
        """
        first = max(0, cursor - self.base)
        rows = self._rows[first:]
        return rows, self.base + first + len(rows)
