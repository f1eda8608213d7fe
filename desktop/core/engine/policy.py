"""Reconnect decisions: from how an attempt ended to retry-after-delay or stop.

Pure: no I/O, no sleeping, the random source is injected.  The rules are the
WHATWG ones (9.2.3 "Processing model"): a network error or the server closing
the stream reconnects after the reconnection time; 204 stops for good; any other
status or content type fails for good.  Beyond the spec, and only when asked:
a cap on consecutive attempts, exponential backoff with jitter, and statuses
(e.g. 502/503/504 behind a proxy) treated like network errors.

Backoff counts a connection that opened but was not worth it (no event, or
shorter than the base delay) as a failure: a server that answers 200 and closes
at once would otherwise reset the count on every attempt and never be backed
off from.  Without backoff the spec's delays stand, even ``retry: 0``; the
policy then only notices a reconnect storm (``storm``), for the stream to say.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from random import Random
from typing import TYPE_CHECKING

from desktop.core.engine.options import DEFAULT_RETRY_MS
from desktop.core.engine.records import DelaySource, Outcome

if TYPE_CHECKING:
    from desktop.core.engine.options import StreamOptions

# Browsers clamp timers to 2**31 - 1 ms (about 24.8 days); a larger ``retry:``
# is valid but would overflow the event loop's clock.
MAX_DELAY_MS = 2**31 - 1
# Backoff grows from the reconnection time, but never from less than this: from
# ``retry: 0`` doubling gives 0 for ever.  A quarter second reaches a 5 s cap
# by the sixth attempt, and keeps the first retries after a blip quick.
BACKOFF_FLOOR_MS = 250
_MAX_DOUBLINGS = 40  # 2**40 times any floor is past every cap: stop growing
# A reconnect storm: this many attempts within this many seconds, i.e. more
# than one every 0.55 s for ten in a row.  Browsers' 3 s default makes 2 in
# 5 s and a reconnection time of 0.6 s or more never qualifies, so a stream
# reconnecting as the spec means it to does not; a server closing at once with
# ``retry: 0`` qualifies within milliseconds (thousands of attempts a second).
# Ten, not two: one or two quick retries after a deploy are no storm.
STORM_ATTEMPTS = 10
STORM_WINDOW_S = 5.0

# Outcomes that end the stream for good whatever the options say.
_FINAL_OK = frozenset(
    {Outcome.NO_CONTENT, Outcome.CLOSE_ON, Outcome.COUNT, Outcome.STOPPED}
)
_FINAL_FAILED = frozenset(
    {
        Outcome.BAD_URL,
        Outcome.BAD_OPTION,
        Outcome.REDIRECTS,
        Outcome.CONTENT_TYPE,
        Outcome.MAX_ATTEMPTS,
        # WHATWG 9.2.3 lets a user agent fail the connection when it knows that
        # reconnecting is futile: the same certificate will be refused again.
        Outcome.TLS,
    }
)


@dataclass(frozen=True, slots=True)
class Retry:
    """Wait ``delay_ms``, then make the next attempt."""

    delay_ms: int
    source: DelaySource


@dataclass(frozen=True, slots=True)
class Storm:
    """``attempts`` reconnection attempts came within ``seconds``."""

    attempts: int
    seconds: float
    delay_ms: int  # the delay in force at the latest attempt
    backoff: bool  # whether backoff was asked for (its cap is then too low)

    def detail(self) -> str:
        why = (
            "even with backoff: its cap is low"
            if self.backoff
            else f"the reconnection time is {self.delay_ms} ms and no backoff is set"
        )
        return f"{self.attempts} reconnection attempts in {self.seconds:.2f} s: {why}"


@dataclass(frozen=True, slots=True)
class Stop:
    """Close for good; ``failed`` when the stream did not end on purpose."""

    failed: bool
    exhausted: bool = False  # stopped by max_attempts rather than by the outcome


class ReconnectPolicy:
    """Tracks the reconnection time in force and consecutive failed attempts."""

    def __init__(self, options: StreamOptions, rng: Random | None = None) -> None:
        self._options = options
        self._rng = rng or Random()
        self.server_retry_ms: int | None = None  # the last valid ``retry:`` field
        self.failures = 0  # reconnection attempts since the last open
        # Reconnection attempts since the last connection worth it (backoff's).
        self.streak = 0
        self._recent: deque[float] = deque(maxlen=STORM_ATTEMPTS)
        self._storm_said: float | None = None  # when the last storm was reported

    @property
    def retry_ms(self) -> int:
        """The reconnection time in force."""
        return self.delay_in_force()[0]

    def delay_in_force(self) -> tuple[int, DelaySource]:
        if self.server_retry_ms is not None:
            return min(self.server_retry_ms, MAX_DELAY_MS), DelaySource.SERVER
        if self._options.retry_ms is not None:
            return min(self._options.retry_ms, MAX_DELAY_MS), DelaySource.OPTION
        return DEFAULT_RETRY_MS, DelaySource.DEFAULT

    def opened(self) -> None:
        """An attempt got a 200 event stream: the failure count starts again."""
        self.failures = 0

    def ended(self, delivered: bool, lived_s: float) -> None:
        """An opened connection ended after ``lived_s``; ``delivered`` an event.

        Only one worth it starts backoff again: with at least one event, and
        open for at least the delay backoff grows from.
        """
        if delivered and lived_s * 1000 >= self._backoff_base():
            self.streak = 0

    def _backoff_base(self) -> int:
        cap = self._options.max_backoff_ms
        floor = BACKOFF_FLOOR_MS if cap is None else min(BACKOFF_FLOOR_MS, cap)
        return max(self.delay_in_force()[0], floor)

    def storm(self, now: float) -> Storm | None:
        """Note a reconnection attempt at ``now``; a Storm when it makes one.

        Said once per ``STORM_WINDOW_S`` while it lasts, not per attempt.
        """
        recent = self._recent
        recent.append(now)
        if len(recent) < STORM_ATTEMPTS or now - recent[0] > STORM_WINDOW_S:
            return None
        said = self._storm_said
        if said is not None and now - said < STORM_WINDOW_S:
            return None
        self._storm_said = now
        return Storm(
            STORM_ATTEMPTS,
            now - recent[0],
            self.delay_in_force()[0],
            self._options.max_backoff_ms is not None,
        )

    def decide(
        self,
        outcome: Outcome,
        *,
        status: int | None = None,
        retry_after_ms: int | None = None,
    ) -> Retry | Stop:
        options = self._options
        if outcome in _FINAL_OK:
            return Stop(failed=False)
        if outcome in _FINAL_FAILED:
            return Stop(failed=True)
        if outcome is Outcome.STATUS and status not in options.reconnect_on_status:
            return Stop(failed=True)
        if not options.reconnect:
            # The server ending the stream is a normal end; anything else is not.
            return Stop(failed=outcome is not Outcome.EOF)
        if options.max_attempts is not None and self.failures >= options.max_attempts:
            return Stop(failed=True, exhausted=True)
        self.failures += 1
        self.streak += 1
        delay, source = self.delay_in_force()
        if options.max_backoff_ms is not None and self.streak > 1:
            # Exponential backoff with "equal jitter": half fixed, half random,
            # so that many clients dropped at once do not return in lockstep.
            doublings = min(self.streak - 1, _MAX_DOUBLINGS)
            grown = min(options.max_backoff_ms, self._backoff_base() * 2**doublings)
            delay = max(delay, grown // 2 + self._rng.randint(0, grown - grown // 2))
            source = DelaySource.BACKOFF
        if retry_after_ms is not None and retry_after_ms > delay:
            delay, source = min(retry_after_ms, MAX_DELAY_MS), DelaySource.SERVER
        return Retry(delay, source)
