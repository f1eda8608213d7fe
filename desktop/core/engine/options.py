"""What a user asks of one stream: URL, request, reconnect and limit options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from desktop.core.engine.transport import DEFAULT_TRANSPORT, Transport

DEFAULT_RETRY_MS = 3000  # WHATWG leaves it to the user agent; browsers use 3 s
DEFAULT_MAX_EVENT_BYTES = 1 << 20
# A server that accepts the connection and never answers must not leave a stream
# "connecting" for ever; 30 s is curl's and many proxies' connect-phase patience.
DEFAULT_HEADERS_TIMEOUT_S = 30.0

# What HTTP cannot carry in a field value: control characters but HTAB.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name


def check_header(name: str, value: str) -> tuple[str, str]:
    """Return the header, or raise ValueError saying what is wrong with it."""
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid header name")
    if CONTROL_CHARS.search(value):
        raise ValueError(f"the value of {name} contains a control character")
    return name, value.strip(" \t")


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Options of one stream.  ``retry_ms=None`` means the engine default (3000 ms)."""

    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    last_event_id: str = ""
    retry_ms: int | None = None
    max_attempts: int | None = None  # consecutive failed reconnection attempts
    reconnect: bool = True
    close_on: frozenset[str] = field(default_factory=frozenset)
    count: int | None = None
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    connect_timeout: float | None = 30.0
    read_timeout: float | None = None  # a silent stall becomes a reconnect
    # No response headers within it (connect, send, redirects and the final
    # status line included): a network error, then a reconnect.  None: wait.
    headers_timeout: float | None = DEFAULT_HEADERS_TIMEOUT_S
    max_backoff_ms: int | None = None  # opt-in exponential backoff, beyond the spec
    reconnect_on_status: frozenset[int] = field(default_factory=frozenset)
    # False: never send Last-Event-ID (the lab's "naive client", which loses what
    # was published while it was away); an explicit ``last_event_id`` is not sent
    # either.
    send_last_event_id: bool = True
    comments: bool = False  # yield Comment records
    # TLS, client certificate, proxy and HTTP version (transport.py).
    transport: Transport = DEFAULT_TRANSPORT
    raw: bool = False  # yield RawChunk records
    # Basic auth (``-u USER:PASSWORD``): an Authorization header on every
    # attempt, unless ``headers`` carry one.
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    # Cookies to start the stream's jar with: NAME=VALUE pairs for the stream's
    # host, and a Netscape cookie file (credentials.py).
    cookies: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    cookie_file: str | None = None
