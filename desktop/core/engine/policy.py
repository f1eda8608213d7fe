"""Reconnect decisions: from how an attempt ended to retry-after-delay or stop.

Pure: no I/O, no sleeping, the random source is injected.  The rules are the
WHATWG ones (9.2.3 "Processing model"): a network error or the server closing
the stream reconnects after the reconnection time; 204 stops for good; any other
status or content type fails for good.  Beyond the spec, and only when asked:
a cap on consecutive attempts, exponential backoff with jitter, and statuses
(e.g. 502/503/504 behind a proxy) treated like network errors.
"""

from __future__ import annotations

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

# Outcomes that end the stream for good whatever the options say.
_FINAL_OK = frozenset(
    {Outcome.NO_CONTENT, Outcome.CLOSE_ON, Outcome.COUNT, Outcome.STOPPED}
)
_FINAL_FAILED = frozenset(
    {Outcome.BAD_URL, Outcome.REDIRECTS, Outcome.CONTENT_TYPE, Outcome.MAX_ATTEMPTS}
)


@dataclass(frozen=True, slots=True)
class Retry:
    """Wait ``delay_ms``, then make the next attempt."""

    delay_ms: int
    source: DelaySource


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
        delay, source = self.delay_in_force()
        if options.max_backoff_ms is not None and self.failures > 1:
            # Exponential backoff with "equal jitter": half fixed, half random,
            # so that many clients dropped at once do not return in lockstep.
            grown = min(options.max_backoff_ms, delay * 2 ** (self.failures - 1))
            delay = max(delay, grown // 2 + self._rng.randint(0, grown - grown // 2))
            source = DelaySource.BACKOFF
        if retry_after_ms is not None and retry_after_ms > delay:
            delay, source = min(retry_after_ms, MAX_DELAY_MS), DelaySource.SERVER
        return Retry(delay, source)
