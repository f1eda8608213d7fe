"""Notice cap: how many notices of a kind one connection shows, and how many it held.

A server that breaks a spec rule on every event (``retry: 1s`` before each one)
makes one Notice per event; listing each would bury the events.  The app's
timeline (desktop/ui/session.py) and ``tail --notices`` (desktop/tail_output.py)
both show the first `NOTICES_PER_KIND` of a kind per connection and count the
rest, so the two say the same thing; the app's notices bar counts every one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.core.engine.records import NoticeKind

NOTICES_PER_KIND = 5  # shown per kind and connection


class Verdict(Enum):
    """What to do with one notice."""

    SHOW = "show"  # under the cap
    LAST = "last"  # the last one shown of its kind on this connection
    HIDE = "hide"  # past the cap: counted only


@dataclass(slots=True)
class NoticeCap:
    """The cap for one stream; `end_connection` starts the next connection's."""

    limit: int = NOTICES_PER_KIND
    _seen: dict[NoticeKind, int] = field(default_factory=dict)

    def admit(self, kind: NoticeKind) -> Verdict:
        seen = self._seen[kind] = self._seen.get(kind, 0) + 1
        if seen < self.limit:
            return Verdict.SHOW
        return Verdict.LAST if seen == self.limit else Verdict.HIDE

    def end_connection(self) -> list[tuple[NoticeKind, int]]:
        """The notices held back on the connection that ended, per kind in the
        order each kind first came, and a fresh count for the next one."""
        held = [
            (kind, seen - self.limit)
            for kind, seen in self._seen.items()
            if seen > self.limit
        ]
        self._seen.clear()
        return held
