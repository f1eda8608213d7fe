"""Lanes from records: segments per attempt, endings, gaps, replayed ticks, text."""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop.core.engine.records import (
    Closed,
    Connecting,
    DelaySource,
    Event,
    Notice,
    NoticeKind,
    Open,
    Outcome,
    Reconnecting,
)
from desktop.core.lab.lane_text import (
    gap_label,
    gap_text,
    segment_label,
    segment_text,
    tick_text,
)
from desktop.core.lab.lanes import (
    ConnectionEnd,
    Evidence,
    LaneBuilder,
    browser_lane,
    lane_of,
    lanes_span,
    match_subscriptions,
    server_lane,
)

T0 = 1_700_000_000.0


def connecting(n: int, t: float, last_id: str = "") -> Connecting:
    return Connecting(n, "http://x/", last_id, t, T0 + t)


def opened(n: int, t: float) -> Open:
    return Open(200, (), n, "http://x/", t, T0 + t)


def event(n: int, t: float, ident: str, kind: str = "message") -> Event:
    return Event(kind, "d", ident, None, n, t, T0 + t)


def reconnecting(n: int, t: float, outcome: Outcome, reason: str) -> Reconnecting:
    return Reconnecting(200, DelaySource.SERVER, reason, outcome, n, t, T0 + t)


def three_attempts() -> list[object]:
    return [
        connecting(1, 0.0),
        opened(1, 0.01),
        event(1, 0.1, "a-1"),
        event(1, 0.2, "a-2"),
        reconnecting(1, 0.5, Outcome.EOF, "server closed the stream"),
        connecting(2, 0.712, "a-2"),
        opened(2, 0.72),
        event(2, 0.721, "a-3"),  # published at 0.6, in the gap: replayed
        event(2, 0.9, "a-4"),
        reconnecting(
            2,
            1.0,
            Outcome.EOF,
            "server closed the stream (an unfinished event was discarded)",
        ),
        connecting(3, 1.2, "a-4"),
        Closed(
            "HTTP 503 Service Unavailable", Outcome.STATUS, True, 503, 1.25, T0 + 1.25
        ),
    ]


@dataclass
class Pub:
    id: str
    published: float


def test_segments_follow_attempts_with_endings_gaps_and_ids() -> None:
    lane = lane_of("app", "app", three_attempts())  # type: ignore[arg-type]
    first, second, third = lane.segments
    assert [s.attempt for s in lane.segments] == [1, 2, 3]
    assert first.ending is ConnectionEnd.SERVER_CLOSED and first.status == 200
    assert first.delay_asked_ms is None and first.last_event_id == ""
    assert second.ending is ConnectionEnd.MID_EVENT
    assert second.last_event_id == "a-2"
    assert second.delay_asked_ms == 200
    assert second.delay_waited_ms is not None
    assert abs(second.delay_waited_ms - 212) < 0.5
    assert gap_label(second) == "asked 200 ms · waited 212 ms"
    assert third.opened is None and third.status == 503
    assert third.ending is ConnectionEnd.STATUS and third.final
    assert [t.id for t in second.ticks] == ["a-3", "a-4"]
    assert lanes_span([lane]) == (T0, T0 + 1.25)


def test_replayed_ticks_from_the_publish_log_say_so() -> None:
    records = three_attempts()
    builder = LaneBuilder("app", "app")
    builder.know_published([Pub("a-3", T0 + 0.6), Pub("a-4", T0 + 0.85)])
    builder.feed(records)  # type: ignore[arg-type]
    ticks = builder.segments[1].ticks
    assert [(t.replayed, t.evidence) for t in ticks] == [
        (True, Evidence.PUBLISHED),
        (False, Evidence.NONE),
    ]
    assert "published 121 ms earlier" in tick_text(ticks[0])
    assert "live, 50 ms after" in tick_text(ticks[1])


def test_publish_log_arriving_later_redates_ticks() -> None:
    builder = LaneBuilder("app", "app")
    builder.feed(three_attempts())  # type: ignore[arg-type]
    burst = builder.segments[1].ticks
    # No log: the first read after the resume is the fallback evidence.
    assert burst[0].evidence is Evidence.BURST
    assert burst[1].evidence is Evidence.NONE
    assert "no publish log" in tick_text(burst[0])
    builder.know_published([Pub("a-3", T0 + 0.715)])  # published after the open
    assert burst[0].evidence is Evidence.NONE and not burst[0].replayed


def test_first_connection_events_are_never_burst_replays() -> None:
    lane = lane_of("app", "app", three_attempts())  # type: ignore[arg-type]
    assert not any(t.replayed for t in lane.segments[0].ticks)


def test_a_timeout_and_a_204_end_their_segments_their_way() -> None:
    records = [
        connecting(1, 0.0),
        opened(1, 0.01),
        reconnecting(1, 2.0, Outcome.TIMEOUT, "no data for 2 s (read timeout)"),
        connecting(2, 2.2),
        Closed("HTTP 204 No Content", Outcome.NO_CONTENT, False, None, 2.3, T0 + 2.3),
    ]
    lane = lane_of("app", "app", records)  # type: ignore[arg-type]
    assert [s.ending for s in lane.segments] == [
        ConnectionEnd.TIMEOUT,
        ConnectionEnd.NO_CONTENT,
    ]
    assert lane.segments[1].status == 204
    text = segment_text(lane, lane.segments[1])
    assert "HTTP 204" in text and "no reconnect after it" in text


def test_status_of_a_reconnecting_status_comes_from_its_reason() -> None:
    records = [
        connecting(1, 0.0),
        reconnecting(1, 0.1, Outcome.STATUS, "HTTP 503 Service Unavailable"),
    ]
    lane = lane_of("app", "app", records)  # type: ignore[arg-type]
    assert lane.segments[0].status == 503
    assert "HTTP 503" in segment_text(lane, lane.segments[0])


@dataclass
class Sent:
    id: str
    type: str
    sent: float


@dataclass
class Sub:
    number: int
    opened: float
    closed: float | None
    last_event_id: str
    ending: str | None
    sent: list[Sent] = field(default_factory=list)


def test_server_lane_and_matching_pair_subscriptions_with_attempts() -> None:
    subs = [
        Sub(8, T0 + 0.715, None, "a-2", None, [Sent("a-3", "message", T0 + 0.716)]),
        Sub(7, T0 + 0.005, T0 + 0.5, "", "dropped"),
        Sub(9, T0 + 5.0, None, "", None),  # someone else, later
    ]
    lane = server_lane(subs)
    assert [s.reason for s in lane.segments][:2] == [
        "subscription #7 ended: dropped",
        "subscription #8",
    ]
    app = lane_of("app", "app", three_attempts())  # type: ignore[arg-type]
    matched = match_subscriptions(app.segments, subs)
    assert [m.number if m else None for m in matched] == [7, 8, None]


def test_browser_lane_from_observations() -> None:
    @dataclass
    class Obs:
        kind: str
        ready_state: int
        id: str
        type: str
        at: float

    lane = browser_lane(
        [
            Obs("open", 1, "", "", T0),
            Obs("message", 1, "5", "message", T0 + 0.1),
            Obs("error", 0, "", "", T0 + 0.5),
            Obs("open", 1, "", "", T0 + 0.75),
            Obs("error", 2, "", "", T0 + 1.0),
        ]
    )
    first, second = lane.segments
    assert first.ending is ConnectionEnd.ERROR and not first.final
    assert second.last_event_id == "5"
    assert second.delay_waited_ms is not None
    assert abs(second.delay_waited_ms - 250) < 0.5
    assert second.final and "gave up" in second.reason
    assert gap_text(second).startswith("The client waited 250 ms")


def test_a_connection_lost_inside_an_event_is_a_cut_not_a_network_error() -> None:
    # A FIN inside a chunked body reaches the engine as a transport error; the
    # decoder's notice that half an event was discarded is what makes it a cut.
    builder = LaneBuilder("app", "app")
    builder.feed(
        [
            connecting(1, 0.0),
            opened(1, 0.01),
            Notice(NoticeKind.DISCARDED, "half an event", 1, 0.4, T0 + 0.4),
            reconnecting(1, 0.4, Outcome.NETWORK, "connection lost"),
            connecting(2, 0.6, ""),
            opened(2, 0.61),
            reconnecting(2, 0.9, Outcome.NETWORK, "connection lost"),
        ]
    )
    assert [s.ending for s in builder.segments] == [
        ConnectionEnd.MID_EVENT,
        ConnectionEnd.NETWORK,
    ]


def test_a_lane_label_counts_in_words() -> None:
    from desktop.core.lab.lane_text import lane_label
    from desktop.core.lab.lanes import Lane, Segment

    lane = Lane("app", "This app", [Segment(1, 0.0)])
    assert lane_label(lane) == "This app · 1 attempt"
    lane.segments.append(Segment(2, 1.0))
    assert lane_label(lane) == "This app · 2 attempts"
    assert lane_label(Lane("server", "Server")) == "Server · 0 subscriptions"


def test_a_lane_served_by_several_workers_names_the_worker_of_each_connection() -> None:
    def served(n: int, t: float, worker: str) -> Open:
        return Open(200, (("X-SSE-Worker", worker),), n, "http://x/", t, T0 + t)

    records = [
        connecting(1, 0.0),
        served(1, 0.01, "w1-100"),
        event(1, 0.1, "a-1"),
        reconnecting(1, 0.5, Outcome.NETWORK, "connection lost"),
        connecting(2, 0.7, "a-1"),
        served(2, 0.72, "w2-200"),
    ]
    lane = lane_of("app", "app", records)  # type: ignore[arg-type]
    assert [s.worker for s in lane.segments] == ["w1-100", "w2-200"]
    assert segment_label(lane, 0) == "w1-100"
    assert segment_label(lane, 1) == "⟲ a-1 · w2-200"
    assert "from worker w2-200" in segment_text(lane, lane.segments[1])
    alone = lane_of("app", "app", records[:4])  # type: ignore[arg-type]
    assert segment_label(alone, 0) == "", "one worker: nothing to tell apart"
