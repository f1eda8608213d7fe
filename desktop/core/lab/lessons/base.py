"""The vocabulary of the guided lessons: checks, timings, context, results.

A lesson is one async run against a server with the lab on; what it proves is a
list of `Check` lines, each computed from what the client and the server recorded,
never asserted.  `catalog.py` re-exports these and lists the lessons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import httpx

    from desktop.core.engine.records import Record
    from desktop.core.lab.client import LabClient, Published, SentLog
    from desktop.core.serving import Served


@dataclass(frozen=True, slots=True)
class Check:
    """One line of a checklist: what the spec says should happen, what did."""

    label: str
    expected: str
    observed: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Timing:
    """Every duration a lesson uses; the app runs human ones, tests short ones.

    The tolerance of a measured delay is ``-early_ms`` / ``+late_ms`` around the
    one asked: a client must never reconnect early, and a loaded machine (or a
    Qt timer) may wake it a little late.
    """

    retry_ms: int  # the reconnection time the lessons announce with `retry:`
    retry_short_ms: int  # the "retry" lesson's first `retry:`
    retry_long_ms: int  # the "retry" lesson's second `retry:`
    read_timeout_s: float  # the "stall" lesson: the engine's read timeout
    stall_s: float  # the "stall" lesson: the server's silence (> read timeout)
    settle_s: float  # after an action, how long to let bytes arrive
    retry_after_s: int  # the "503" lesson: the 503's Retry-After
    window_s: float  # how long to watch for reconnects that should (not) come
    ticker_rate: float = 20.0  # the "bursts" lesson: events per second via the proxy
    buffer_bytes: int = 2048  # the "bursts" lesson: what the simulated proxy holds
    pulse_ms: int = 100  # the "worker dies" lesson: its steady pulse
    early_ms: float = 10.0
    late_ms: float = 250.0
    # The "six connections" lesson's page: it fetches `settle_page_s` after making
    # its sources, closes one `hold_s` later, another after as long, all `life_s`
    # after that; a browser may take `page_wait_s` to show it (a certificate warning).
    settle_page_s: float = 2.0
    hold_s: float = 3.0
    life_s: float = 2.0
    page_wait_s: float = 60.0

    @classmethod
    def human(cls) -> Timing:
        """What a learner watches in the app: delays a person can see pass."""
        return cls(
            retry_ms=1000,
            retry_short_ms=500,
            retry_long_ms=10_000,
            read_timeout_s=3.0,
            stall_s=6.0,
            settle_s=0.6,
            retry_after_s=2,
            window_s=4.0,
        )

    @classmethod
    def fast(cls) -> Timing:
        """Tests: the same shapes in tens to hundreds of milliseconds.

        Needs a server pinging at least every ~0.25 s (``--ping 0.2``) so that
        only a stall trips the read timeout.
        """
        return cls(
            retry_ms=100,
            retry_short_ms=200,
            retry_long_ms=1000,
            read_timeout_s=0.7,
            stall_s=2.0,
            settle_s=0.25,
            retry_after_s=1,
            window_s=0.8,
            settle_page_s=1.0,
            hold_s=1.2,
            life_s=0.5,
            page_wait_s=20.0,
        )

    def delay_ok(self, asked_ms: float, waited_ms: float) -> bool:
        return asked_ms - self.early_ms <= waited_ms <= asked_ms + self.late_ms

    def tolerance(self, asked_ms: float) -> str:
        return f"{asked_ms:.0f} ms (-{self.early_ms:.0f} / +{self.late_ms:.0f} ms)"


class LabContext(Protocol):
    """What a lesson needs from its host (the app, or a test)."""

    base_url: str
    client: httpx.AsyncClient
    lab: LabClient
    timing: Timing

    async def restart_server(self) -> None:
        """Stop the server and start it again on the same port; back when it listens."""
        ...

    async def serve(self, protocol: str) -> Served:
        """Restart the bundled server on its port speaking ``protocol``
        (a `ServerProtocol` value); back when it listens, with its new base URL."""
        ...

    def open_page(self, url: str) -> bool:
        """Open ``url`` in a browser (the user's; a test's headless one).

        False when no browser could be started.
        """
        ...

    def on_records(self, lane: str, batch: list[Record]) -> None:
        """A live feed of each lane's records ("app", "naive") for the lanes view."""
        ...


@dataclass(slots=True)
class LessonResult:
    """What one run of a lesson proved, and the data it proved it from."""

    key: str
    checks: list[Check]
    records: dict[str, list[Record]]  # per lane: "app", "naive"
    published: list[Published]
    sent: list[SentLog]
    started: float  # wall seconds
    ended: float

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)


@dataclass(frozen=True, slots=True)
class Lesson:
    """One guided lesson: one click runs it and fills its checklist."""

    key: str  # what the app and the tests know it by
    title: str
    summary: str  # one line for the list
    explanation: str  # two lines; cites the WHATWG HTML spec
    run: Callable[[LabContext], Awaitable[LessonResult]]
    number: int = 0  # its place in the catalog's list, set there (catalog.numbered)
