"""The records the engine yields: one vocabulary for timeline, tail and recordings.

Every record carries ``at`` (``time.monotonic()``) and ``wall`` (``time.time()``) of
the network read it came from.  Records are slotted dataclasses and immutable by
convention: ``Event`` sits on the per-event hot path, where a frozen dataclass costs
about 0.7 µs to build against 0.15 µs for a plain slotted one, so none is frozen and
nobody mutates one after it was yielded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# At run time: recordings rebuild records from their type hints (files/codec.py).
from desktop.core.engine.certificate import TLSFailure, TLSInfo  # noqa: TC001


class DelaySource(StrEnum):
    """Where the reconnection delay in force came from."""

    DEFAULT = "default"  # the engine's default reconnection time (3000 ms)
    OPTION = "option"  # the user's --retry / initial retry option
    SERVER = "server"  # a valid ``retry:`` field from the server
    BACKOFF = "backoff"  # opt-in exponential backoff, beyond the spec


class Outcome(StrEnum):
    """How a connection ended or why the stream closed (``reason`` says the detail)."""

    EOF = "eof"  # the server closed the response body
    NETWORK = "network"  # refused, reset, DNS failure, protocol error …
    TIMEOUT = "timeout"  # no byte within the read timeout, or no headers in time
    STATUS = "status"  # an HTTP status other than 200 (and 204)
    CONTENT_TYPE = "content-type"  # 200 but not text/event-stream
    NO_CONTENT = "no-content"  # HTTP 204: the server says stop for good
    BAD_URL = "bad-url"  # cannot be parsed, or not http/https
    BAD_OPTION = "bad-option"  # an option it cannot use (an unreadable cookie file)
    REDIRECTS = "redirects"  # a redirect loop, or too many redirects
    TLS = "tls"  # a certificate refused (or required): retrying cannot help
    CLOSE_ON = "close-on"  # an event of a close-on type arrived
    COUNT = "count"  # the asked number of events arrived
    MAX_ATTEMPTS = "max-attempts"  # consecutive failed attempts exhausted
    STOPPED = "stopped"  # the user stopped the stream


@dataclass(frozen=True, slots=True)
class Hop:
    """One redirect an attempt followed: ``url`` answered ``status`` with ``location``.

    ``dropped`` names the credentials not sent on from this hop because the
    next URL is of another origin (``Authorization``, ``Cookie``, a header the
    user marked secret …).
    """

    status: int
    url: str
    location: str
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A response that was not an event stream: a status other than 200, or a
    200 of another content type, kept so that a user can see why.

    ``body`` is the first ``len(raw)`` bytes (at most 64 KiB) of the body,
    decoded by its charset; ``size`` counts every body byte read, ``complete``
    says whether that was the whole body (reading stops at a bound).
    """

    status: int
    reason: str
    http_version: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content_type: str
    body: str
    raw: bytes
    size: int
    complete: bool
    redirects: tuple[Hop, ...] = ()


@dataclass(slots=True)
class Connecting:
    """An attempt starts: ``attempt`` counts every attempt of the stream from 1."""

    attempt: int
    url: str
    last_event_id: str
    at: float
    wall: float
    proxy: str | None = None  # the proxy it goes through, password masked


@dataclass(slots=True)
class Open:
    """The response was 200 with ``text/event-stream``: events follow."""

    status: int
    headers: tuple[tuple[str, str], ...]
    connection: int
    url: str  # the final URL, after redirects
    at: float
    wall: float
    http_version: str = "HTTP/1.1"  # as negotiated: "HTTP/1.1" or "HTTP/2"
    tls: TLSInfo | None = None  # https: the session's version, cipher, certificate
    redirects: tuple[Hop, ...] = ()  # the redirects followed to ``url``


@dataclass(slots=True)
class Event:
    """A dispatched event.

    ``id`` is the last event ID in force at dispatch (the spec's ``lastEventId``),
    ``retry`` the valid ``retry:`` value seen in this event's block, if any.
    """

    type: str
    data: str
    id: str
    retry: int | None
    connection: int
    at: float
    wall: float


@dataclass(slots=True)
class Comment:
    """A comment line (``: ping``), given only to consumers that ask for comments."""

    text: str
    connection: int
    at: float
    wall: float


@dataclass(slots=True)
class RetryField:
    """A valid ``retry:`` field set the reconnection time to ``ms``.

    Given apart from events because a ``retry:`` usually comes in a block of its
    own, which dispatches nothing (sse-starlette sends one on connect).
    """

    ms: int
    connection: int
    at: float
    wall: float


@dataclass(slots=True)
class Reconnecting:
    """The connection ended; the engine waits ``delay_ms`` before the next attempt."""

    delay_ms: int
    delay_source: DelaySource
    reason: str
    outcome: Outcome
    attempt: int  # the attempt that just ended
    at: float
    wall: float
    response: ErrorResponse | None = None  # the non-stream response that ended it


@dataclass(slots=True)
class Closed:
    """The stream is over for good; always the last record."""

    reason: str
    outcome: Outcome
    failed: bool
    status: int | None
    at: float
    wall: float
    tls: TLSFailure | None = None  # outcome TLS: what was refused, and why
    response: ErrorResponse | None = None  # the non-stream response that ended it


@dataclass(slots=True)
class Error:
    """Something went wrong that does not end the stream (e.g. an oversized event)."""

    message: str
    connection: int
    at: float
    wall: float


class NoticeKind(StrEnum):
    """What the spec made a client ignore or do silently (advice keys of advice.py)."""

    ID_RESET = "id-reset"  # an empty ``id:`` emptied a non-empty last event ID
    RETRY_IGNORED = "retry-ignored"  # a ``retry:`` value not all ASCII digits
    ID_NUL = "id-nul"  # an ``id:`` value holding NUL, ignored
    NO_DATA = "no-data"  # a block with ``event:``/``id:`` but no data: not dispatched
    DISCARDED = "discarded"  # the connection ended in the middle of an event
    RECONNECT_STORM = "reconnect-storm"  # many attempts in little time (policy.py)
    PINNED_OUT_OF_DATES = "pinned-out-of-dates"  # a pinned certificate, expired


@dataclass(slots=True)
class Notice:
    """Something the spec tells a client to ignore, said out loud.

    Browsers drop these without a word, which is where people lose hours (an
    event without ``data:`` never fires, ``retry: 5s`` does nothing).  Rare by
    nature: the decoder makes them off its fast path.  ``detail`` names the
    line or the event concerned.
    """

    kind: NoticeKind
    detail: str
    connection: int
    at: float
    wall: float


@dataclass(slots=True)
class RawChunk:
    """One network read as received, for consumers that ask for raw bytes."""

    data: bytes
    connection: int
    at: float
    wall: float


Record = (
    Connecting
    | Open
    | Event
    | Comment
    | RetryField
    | Reconnecting
    | Closed
    | Error
    | Notice
    | RawChunk
)

__all__ = [
    "Closed",
    "Comment",
    "Connecting",
    "DelaySource",
    "Error",
    "ErrorResponse",
    "Event",
    "Hop",
    "Notice",
    "NoticeKind",
    "Open",
    "Outcome",
    "RawChunk",
    "Reconnecting",
    "Record",
    "RetryField",
]
