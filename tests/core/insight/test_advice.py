"""The Advisor on record sequences: each warning fires on its case, none on clean ones.

Batches are built as the engine yields them (one list per network read, every
record of a read with the read's time), so the same sequences could come from a
recording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from desktop.core.engine.records import (
    Closed,
    Connecting,
    DelaySource,
    Event,
    Notice,
    NoticeKind,
    Open,
    Outcome,
    RawChunk,
    Reconnecting,
)
from desktop.core.insight.advice import (
    BURSTS_TO_WARN,
    Advisor,
    buffering_hints,
    explain,
)

if TYPE_CHECKING:
    from desktop.core.engine.records import Record

WALL0 = 1_700_000_000.0
SSE_HEADERS = (
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
)


class Script:
    """Builds batches on a fake clock: ``at`` from 0, ``wall`` = WALL0 + at."""

    def __init__(self, advisor: Advisor) -> None:
        self.advisor = advisor
        self.at = 0.0

    def feed(self, batch: list[Record]) -> None:
        self.advisor.feed(batch)

    def open(self, headers: tuple[tuple[str, str], ...] = SSE_HEADERS) -> None:
        self.feed([Connecting(1, "http://x/", "", self.at, WALL0 + self.at)])
        self.feed([Open(200, headers, 1, "http://x/", self.at, WALL0 + self.at)])

    def read(self, after: float, events: int, type: str = "tick") -> None:
        self.at += after
        at, wall = self.at, WALL0 + self.at
        batch: list[Record] = [RawChunk(b"x" * events, 1, at, wall)]
        batch += [Event(type, "{}", "", None, 1, at, wall) for _ in range(events)]
        self.feed(batch)

    def keys(self) -> list[str]:
        return [advice.key for advice in self.advisor.warnings()]


@pytest.fixture
def script() -> Script:
    return Script(Advisor())


# -- compression and bursts ------------------------------------------------------


def test_compressed_response_is_named(script: Script) -> None:
    script.open((*SSE_HEADERS, ("Content-Encoding", "gzip")))
    (advice,) = script.advisor.warnings()
    assert advice.key == "compressed"
    assert "gzip" in advice.title
    assert advice.why.endswith(".")
    assert advice.action
    assert (advice.count, advice.first_wall) == (1, WALL0)


@pytest.mark.parametrize("encoding", [None, "identity"])
def test_uncompressed_response_is_fine(script: Script, encoding: str | None) -> None:
    headers = (
        SSE_HEADERS
        if encoding is None
        else (*SSE_HEADERS, ("content-encoding", encoding))
    )
    script.open(headers)
    for _ in range(20):
        script.read(1.0, 1)
    assert script.keys() == []


def test_bursts_after_silences_warn_and_name_the_header(script: Script) -> None:
    script.open()
    for _ in range(BURSTS_TO_WARN):  # the first burst has nothing to compare with
        script.read(2.0, 20)
        assert script.keys() == []
    script.read(2.0, 20)
    (advice,) = script.advisor.warnings()
    assert advice.key == "bursts"
    assert advice.count == BURSTS_TO_WARN
    assert "Cache-Control: no-cache without no-transform" in advice.action
    assert "X-Accel-Buffering: no" not in advice.detail
    assert "20 after 2.0 s" in advice.why


def test_bursts_after_a_steady_start(script: Script) -> None:
    script.open((("content-type", "text/event-stream"),))
    for _ in range(30):
        script.read(0.1, 1)
    for _ in range(3):
        script.read(1.5, 15)
    (advice,) = script.advisor.warnings()
    assert advice.key == "bursts"
    assert "no X-Accel-Buffering: no" in advice.detail
    assert "no Cache-Control: no-transform" in advice.detail


def test_two_bursts_are_not_yet_a_pattern(script: Script) -> None:
    script.open()
    for _ in range(30):
        script.read(0.1, 1)
    script.read(1.5, 15)
    script.read(1.5, 15)
    assert script.keys() == []


@pytest.mark.parametrize(
    ("gap", "events"),
    [
        (0.003, 1),  # a few hundred events a second, one per read
        (0.005, 10),  # 2,000 a second, TCP coalescing reads
        (0.020, 60),  # 3,000 a second in big reads
        (1.0, 1),  # one a second (/api/events' stats)
    ],
)
def test_steady_streams_never_burst(script: Script, gap: float, events: int) -> None:
    script.open()
    for i in range(3000 if gap < 0.1 else 200):
        # Jitter: every 50th read comes late, as a busy loop makes it.
        script.read(gap * (4 if i % 50 == 49 else 1), events)
    assert script.keys() == []


def test_a_slow_stream_with_small_groups_is_not_a_burst(script: Script) -> None:
    script.open()
    for i in range(100):
        script.read(1.0, 5 if i % 10 == 0 else 1)  # a job publishing a few at once
    assert script.keys() == []


def test_short_silences_are_noise_not_bursts() -> None:
    script = Script(Advisor(min_silence_s=0.5))
    script.open()
    for _ in range(100):
        script.read(0.001, 1)
    for _ in range(5):
        script.read(0.3, 300)  # a stalled loop catching up, not a proxy
    assert script.keys() == []


def test_buffering_hints() -> None:
    assert buffering_hints(SSE_HEADERS) == [
        "Cache-Control: no-cache without no-transform"
    ]
    assert (
        buffering_hints(
            [
                ("Cache-Control", "no-cache, no-transform"),
                ("X-Accel-Buffering", "no"),
            ]
        )
        == []
    )
    assert buffering_hints([("content-encoding", "br")]) == [
        "Content-Encoding: br",
        "no X-Accel-Buffering: no",
        "no Cache-Control: no-transform",
    ]
    assert "no X-Accel-Buffering: no" in buffering_hints([("X-Accel-Buffering", "yes")])


# -- idle ------------------------------------------------------------------------


def test_idle_counts_each_silence_once(script: Script) -> None:
    script.open()
    script.read(1.0, 1)
    script.advisor.check_idle(30.9)
    assert script.keys() == []
    script.advisor.check_idle(31.0)
    assert script.advisor.idle
    script.advisor.check_idle(45.0)
    (advice,) = script.advisor.warnings()
    assert (advice.key, advice.count) == ("idle", 1)
    assert advice.first_wall == WALL0 + 31.0
    assert "30 s" in advice.title
    script.read(50.0, 1)  # bytes again: the silence is over
    assert not script.advisor.idle
    script.advisor.check_idle(script.at + 30.0)
    assert script.advisor.warnings()[0].count == 2


def test_idle_threshold_is_configurable_and_only_while_open() -> None:
    advisor = Advisor(idle_after_s=0.2)
    script = Script(advisor)
    advisor.check_idle(100.0)  # never opened
    assert script.keys() == []
    script.open()
    advisor.check_idle(0.1)
    assert script.keys() == []
    advisor.check_idle(0.2)
    assert script.keys() == ["idle"]
    assert "0.2 s" in advisor.warnings()[0].title
    script.feed(
        [Reconnecting(3000, DelaySource.DEFAULT, "eof", Outcome.EOF, 1, 0.3, WALL0)]
    )
    advisor.check_idle(10.0)  # waiting to reconnect is not an idle connection
    assert advisor.warnings()[0].count == 1


def test_closed_streams_are_not_idle(script: Script) -> None:
    script.open()
    script.feed([Closed("stopped", Outcome.STOPPED, False, None, 1.0, WALL0 + 1)])
    script.advisor.check_idle(1000.0)
    assert script.keys() == []


# -- notices and types -----------------------------------------------------------


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_each_notice_kind_becomes_its_advice(script: Script, kind: NoticeKind) -> None:
    script.open()
    for n in range(3):
        script.feed([Notice(kind, f"case {n}", 1, 1.0 + n, WALL0 + 1 + n)])
    (advice,) = script.advisor.warnings()
    assert advice.key == kind.value
    assert (advice.count, advice.first_wall, advice.detail) == (3, WALL0 + 1, "case 2")
    assert advice.title and advice.why.endswith(".") and advice.action.endswith(".")
    assert explain(kind) == f"{advice.why} {advice.action}"


def test_unnamed_events_beside_named_ones(script: Script) -> None:
    script.open()
    script.read(1.0, 3, "message")
    assert script.keys() == []
    script.read(1.0, 1, "status")
    script.read(1.0, 1, "progress")
    (advice,) = script.advisor.warnings()
    assert advice.key == "unnamed-mixed"
    assert advice.count == 2
    assert "progress, status" in advice.why
    assert "onmessage" in advice.why


def test_only_named_events_are_fine(script: Script) -> None:
    script.open()
    script.read(1.0, 3, "stats")
    script.read(1.0, 3, "lab")
    assert script.keys() == []


def test_reset_forgets_warnings_not_the_connection(script: Script) -> None:
    script.open((("content-encoding", "gzip"),))
    script.read(1.0, 1, "message")
    script.read(1.0, 1, "named")
    assert script.keys() == ["compressed", "unnamed-mixed"]
    script.advisor.reset()
    assert script.keys() == []
    script.advisor.check_idle(script.at + 30.0)  # still open: silence still counts
    assert script.keys() == ["idle"]


def test_warnings_keep_first_seen_order(script: Script) -> None:
    script.open((*SSE_HEADERS, ("content-encoding", "gzip")))
    script.feed([Notice(NoticeKind.NO_DATA, "x", 1, 1.0, WALL0 + 1)])
    script.read(1.0, 1, "message")
    script.read(1.0, 1, "named")
    assert script.keys() == ["compressed", "no-data", "unnamed-mixed"]


def test_a_reconnect_storm_notice_is_a_warning(script: Script) -> None:
    detail = "10 reconnection attempts in 0.01 s: the reconnection time is 0 ms"
    storm = Notice(NoticeKind.RECONNECT_STORM, detail, 9, 1.0, WALL0 + 1)
    reconnecting = Reconnecting(
        0, DelaySource.SERVER, "server closed", Outcome.EOF, 9, 1.0, WALL0 + 1
    )
    script.feed([storm, reconnecting])
    (advice,) = script.advisor.warnings()
    assert (advice.key, advice.title, advice.detail) == (
        "reconnect-storm",
        "Reconnect storm",
        detail,
    )
    assert "retry:" in advice.action and "backoff" in advice.action
    assert explain("reconnect-storm").startswith("The client reconnects")
