"""continuity.check on crafted sequences: lost, repeated, reordered, latency."""

from __future__ import annotations

import pytest

from desktop.core.engine.records import Event
from desktop.core.lab.client import Published
from desktop.core.lab.continuity import check

PUBLISHED = [Published(f"r-0-{n}", "pulse", 100.0 + n / 10) for n in range(6)]


def received(*ids: str, kind: str = "pulse", lag: float = 0.005) -> list[Event]:
    out = []
    for id_ in ids:
        n = int(id_.rsplit("-", 1)[1])
        out.append(Event(kind, "{}", id_, None, 1, 0.0, 100.0 + n / 10 + lag))
    return out


def test_everything_once_in_order_is_ok_with_latencies() -> None:
    result = check(PUBLISHED, received(*(p.id for p in PUBLISHED)))
    assert result.ok
    assert (result.published, result.received) == (6, 6)
    assert result.latency_ms == pytest.approx([5.0] * 6)
    assert result.latency_ids == [p.id for p in PUBLISHED]
    assert result.summary() == "lost 0 · repeated 0"


def test_a_gap_is_lost_in_publish_order() -> None:
    result = check(PUBLISHED, received("r-0-0", "r-0-1", "r-0-4", "r-0-5"))
    assert result.lost == ["r-0-2", "r-0-3"]
    assert not result.repeated and not result.reordered
    assert not result.ok
    assert len(result.latency_ms) == 4
    assert result.summary() == "lost 2 · repeated 0"


def test_a_replay_that_overlaps_is_repeated_once_per_id() -> None:
    ids = ("r-0-0", "r-0-1", "r-0-2", "r-0-1", "r-0-2", "r-0-2", "r-0-3")
    result = check(PUBLISHED, received(*ids))
    assert result.repeated == ["r-0-1", "r-0-2"]
    assert result.lost == ["r-0-4", "r-0-5"]
    assert result.received == 7
    # latency from the first receipt only
    assert len(result.latency_ms) == 4


def test_an_event_after_a_later_published_one_is_reordered() -> None:
    result = check(PUBLISHED[:4], received("r-0-0", "r-0-2", "r-0-1", "r-0-3"))
    assert result.reordered == ["r-0-1"]
    assert not result.lost and not result.repeated
    assert not result.ok
    assert result.summary() == "lost 0 · repeated 0 · reordered 1"


def test_events_without_their_own_id_or_outside_the_span_are_ignored() -> None:
    # A `stats` event carries the previous id (lastEventId): not a repeat.
    events = received("r-0-0") + received("r-0-0", kind="stats")
    events += [*received("r-0-1"), Event("pulse", "", "other-9", None, 1, 0, 0)]
    events += [Event("pulse", "", "", None, 1, 0, 0)]
    result = check(PUBLISHED[:2], events)
    assert result.ok
    assert result.received == 2


def test_nothing_published_nothing_received_is_ok() -> None:
    result = check([], received("r-0-1"))
    assert result.ok and result.published == 0 and result.received == 0
