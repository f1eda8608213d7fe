"""What one attempt sends and how its answer's head is read.

The URL checked, the headers of an attempt (SSE's own, then the user's, then
credentials), whether a response is an event stream, and a ``Retry-After``.
Split from stream.py, which runs attempts and maps errors, so that each stays
one thing; desktop/core/files/curl.py builds its command from the same headers.
"""

from __future__ import annotations

import email.utils
import time
from typing import TYPE_CHECKING

import httpx

from desktop.core.engine.credentials import auth_headers
from desktop.core.engine.errors import BadURLError
from desktop.core.engine.options import CONTROL_CHARS

if TYPE_CHECKING:
    from desktop.core.engine.options import StreamOptions


def check_url(url: str) -> httpx.URL:
    """Parse ``url``; raise BadURLError unless it is an absolute http(s) URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise BadURLError(url, str(exc) or "cannot be parsed") from exc
    if parsed.scheme not in ("http", "https"):
        raise BadURLError(url, "the scheme must be http or https")
    if not parsed.host:
        raise BadURLError(url, "no host")
    if "%" in parsed.raw_host.decode("ascii", "replace"):
        # httpx percent-encodes what a host cannot hold (a space …); DNS can't.
        raise BadURLError(url, f"invalid host {parsed.host!r}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise BadURLError(url, f"port {parsed.port} is out of range")
    return parsed


def request_headers(
    options: StreamOptions, last_event_id: str
) -> list[tuple[bytes, bytes]]:
    """The headers of one attempt: SSE's own, then the user's.

    Values go out as UTF-8, as browsers send ``Last-Event-ID`` (httpx would
    refuse a non-ASCII ``str``).
    """
    headers = [(b"Accept", b"text/event-stream"), (b"Cache-Control", b"no-cache")]
    if last_event_id:  # WHATWG: only when the last event ID string is not empty
        # An id may hold what HTTP cannot carry in a field value (" 7 ", a
        # control character): send what a server's parser would keep of it.
        value = CONTROL_CHARS.sub("", last_event_id).strip(" \t")
        if value:
            headers.append((b"Last-Event-ID", value.encode()))
    headers.extend((name.encode(), value.encode()) for name, value in options.headers)
    headers.extend(auth_headers(options))
    return headers


def is_event_stream(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "text/event-stream"


def retry_after_ms(value: str | None) -> int | None:
    if not value:
        return None
    if value.strip().isdigit():
        return int(value.strip()) * 1000
    try:  # an HTTP date; anything else is ignored, as browsers do
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, int((moment.timestamp() - time.time()) * 1000))
