"""The records of one stream: one bounded store for the timeline, saves and the lab.

Qt-free, so bounds and counts are testable without a display.  The session adds
each network read's records (:meth:`RecordStore.extend`); a view *publishes* what
arrived since its last look (the timeline does so every flush, unless paused).

Published rows are numbered: row ``i`` of :meth:`RecordStore.rows` has sequence
number ``base + i``, and trimming the front never renumbers the rest, so a view
keeps sequence numbers instead of indexes, and a consumer keeps a cursor
(:meth:`RecordStore.since`).  A row waiting to be published has no number yet.

Nothing trims published rows behind a view's back: :meth:`RecordStore.trim` is
called by the view, which learns the count first (:meth:`RecordStore.overflow`)
and announces one removal.  Waiting rows that nobody publishes (a paused
timeline, a session without a view) are bounded by :meth:`RecordStore.extend`.
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
    from collections.abc import Sequence

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
    """

    retention: int = DEFAULT_RETENTION
    base: int = 0  # sequence number of the oldest kept row
    published: int = 0  # the first ``published`` kept rows are published
    dropped: int = 0
    _rows: list[Row] = field(default_factory=list, repr=False)

    # -- writing ----------

    def extend(self, rows: Sequence[Row]) -> None:
        """Add one read's rows, after the waiting ones (the per-read hot path).

        Rows nobody publishes pile up: beyond twice ``retention`` of them, the
        oldest waiting ones go, down to ``retention`` (amortized: one cut per
        ``retention`` rows).  The published rows stay as a view shows them.
        """
        kept = self._rows
        kept.extend(rows)
        waiting = len(kept) - self.published
        if waiting > 2 * self.retention:
            extra = waiting - self.retention
            del kept[self.published : self.published + extra]
            self.dropped += extra

    def set_retention(self, retention: int) -> None:
        """Keep ``retention`` rows (at least one) from the next :meth:`trim` on."""
        self.retention = max(1, retention)

    def overflow(self) -> int:
        """How many published rows the next :meth:`trim` drops."""
        return min(self.published, max(0, len(self._rows) - self.retention))

    def trim(self) -> int:
        """Keep the newest ``retention`` rows, published or waiting; returns how
        many went (the oldest; :meth:`overflow` of them were published)."""
        kept = self._rows
        extra = len(kept) - self.retention
        if extra <= 0:
            return 0
        del kept[:extra]
        self.published -= min(extra, self.published)
        self.base += extra
        self.dropped += extra
        return extra

    def publish(self) -> int:
        """Number the waiting rows; returns how many there were."""
        count = len(self._rows) - self.published
        self.published = len(self._rows)
        return count

    def clear(self) -> int:
        """Forget every row and the dropped count; returns how many rows went."""
        count = len(self._rows)
        self.base += count
        self._rows.clear()
        self.published = self.dropped = 0
        return count

    # -- reading ----------

    @property
    def waiting(self) -> int:
        """Rows added since the last :meth:`publish`."""
        return len(self._rows) - self.published

    @property
    def records(self) -> Sequence[Row]:
        """Every kept row, published first, as one sequence that is changed in
        place, never replaced: a view may hold on to it and index it."""
        return self._rows

    def rows(self, first: int = 0, last: int | None = None) -> list[Row]:
        """Published rows ``[first:last]``, slice rules (``rows(-1)``: the last)."""
        start, stop, _ = slice(first, last).indices(self.published)
        return self._rows[start:stop]

    def at_seq(self, seq: int) -> Row | None:
        """The published row numbered ``seq``, if it is still kept."""
        i = seq - self.base
        return self._rows[i] if 0 <= i < self.published else None

    def since(self, cursor: int) -> tuple[list[Row], int]:
        """Published rows numbered ``cursor`` and on, and the cursor to pass next.

        Rows that retention or a clear dropped before the consumer looked are
        skipped: the cursor only moves forward.
        """
        first = max(0, cursor - self.base)
        rows = self._rows[first : self.published]
        return rows, self.base + first + len(rows)
