"""Continuity: what a client received compared with what the server published.

The lab's proof that a resume with Last-Event-ID loses nothing, and that a client
without it does: every published event of the span is looked for among the
received ones.  An event counts as received when its id *and* type match a
published one: an event the server sends without an id (``stats``) still carries
the previous id (the spec's lastEventId), so the id alone would count it as a
repeat of that event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.core.engine.records import Event
    from desktop.core.lab.client import Published


@dataclass(slots=True)
class Continuity:
    """The comparison of one client with the published log over one span.

    ``lost`` are published ids never received (publish order), ``repeated`` ids
    received more than once, ``reordered`` ids received after an event published
    later than them; ``latency_ms`` is receive wall minus publish wall for the
    first receipt of each received event, in publish order (``latency_ids`` names
    them).
    """

    published: int
    received: int
    lost: list[str]
    repeated: list[str]
    reordered: list[str]
    latency_ms: list[float]
    latency_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing lost, repeated or reordered."""
        return not (self.lost or self.repeated or self.reordered)

    def summary(self) -> str:
        """The badge text: ``lost 0 · repeated 0`` (and reordered when any)."""
        text = f"lost {len(self.lost)} · repeated {len(self.repeated)}"
        if self.reordered:
            text += f" · reordered {len(self.reordered)}"
        return text


def check(published: Sequence[Published], received: Sequence[Event]) -> Continuity:
    """Compare ``received`` (a client's Event records) with ``published``.

    Received events whose id and type are not in ``published`` (outside the span,
    or sent without an id) are ignored; ``received`` counts the ones that matched.
    """
    position = {p.id: (n, p) for n, p in enumerate(published)}
    first: dict[str, float] = {}  # id -> wall of the first receipt
    repeated: dict[str, None] = {}  # an ordered set: ids in order of first repeat
    reordered: list[str] = []
    counted = 0
    latest = -1  # publish position of the latest-published event received so far
    for event in received:
        found = position.get(event.id)
        if found is None or found[1].type != event.type:
            continue
        counted += 1
        n, _ = found
        if event.id in first:
            repeated[event.id] = None
            continue
        first[event.id] = event.wall
        if n < latest:
            reordered.append(event.id)
        else:
            latest = n
    lost = [p.id for p in published if p.id not in first]
    got = [p for p in published if p.id in first]
    return Continuity(
        published=len(published),
        received=counted,
        lost=lost,
        repeated=list(repeated),
        reordered=reordered,
        latency_ms=[(first[p.id] - p.published) * 1000 for p in got],
        latency_ids=[p.id for p in got],
    )
