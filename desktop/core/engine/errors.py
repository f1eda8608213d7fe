"""One exception tree for the engine; stream.py maps httpx errors into it, once.

StreamError                 an attempt failed; ``outcome`` says how
├── BadURLError             cannot be parsed, or not http/https      (stop, failed)
├── NetworkError            refused, reset, DNS, protocol error      (reconnect)
│   ├── ReadTimeoutError    no byte within the read timeout          (reconnect)
│   ├── HeadersTimeoutError no response headers within their timeout (reconnect)
│   └── ProxyError          the proxy failed or refused   (reconnect; 407: stop, failed)
├── TLSError                a certificate refused or required        (stop, failed)
├── OptionError             an option it cannot use (a cookie file)  (stop, failed)
├── RedirectError           redirect loop or too many redirects      (stop, failed)
├── HTTPStatusError         a status other than 200 and 204          (stop, failed)
├── ContentTypeError        200 but not text/event-stream            (stop, failed)
└── NoContentError          204: the server says stop                (stop)
InvalidTransition           a state machine was asked an illegal move (a bug)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.engine.records import Outcome

if TYPE_CHECKING:
    from enum import Enum

    from desktop.core.engine.certificate import TLSFailure
    from desktop.core.engine.records import ErrorResponse


class StreamError(Exception):
    """An attempt ended without (or after) a usable response."""

    outcome: Outcome = Outcome.NETWORK
    status: int | None = None  # the response's status, when there was one
    retry_after_ms: int | None = None  # the response's Retry-After, when given
    tls: TLSFailure | None = None  # what TLS refused, for a TLSError
    # A response that was not an event stream: head and first 64 KiB of body.
    response: ErrorResponse | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadURLError(StreamError):
    outcome = Outcome.BAD_URL

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"bad URL {url!r}: {detail}")
        self.url = url
        self.detail = detail


class ServerClosedError(StreamError):
    outcome = Outcome.EOF

    def __init__(self, discarded: bool) -> None:
        note = " (an unfinished event was discarded)" if discarded else ""
        super().__init__(f"server closed the stream{note}")
        self.discarded = discarded


class NetworkError(StreamError):
    outcome = Outcome.NETWORK


class ReadTimeoutError(NetworkError):
    outcome = Outcome.TIMEOUT

    def __init__(self, seconds: float | None) -> None:
        super().__init__(
            f"no data for {seconds:g} s (read timeout)" if seconds else "read timeout"
        )
        self.seconds = seconds


class HeadersTimeoutError(NetworkError):
    outcome = Outcome.TIMEOUT

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no response headers within {seconds:g} s (headers timeout)")
        self.seconds = seconds


class ProxyError(NetworkError):
    """The proxy's own failure, not the server's: unreachable, a refused CONNECT
    or SOCKS request, a 502 of its own, or 407 (credentials missing or wrong:
    futile to retry, so the stream stops, failed)."""

    AUTH = "asks for credentials (HTTP 407 Proxy Authentication Required)"

    def __init__(self, proxy: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"proxy {proxy}: {detail}")
        self.proxy = proxy  # as shown: its password masked
        self.detail = detail
        self.status = status
        if status == 407:
            self.outcome = Outcome.STATUS


class TLSError(StreamError):
    """The TLS handshake failed, or the server refused the client's certificate.

    The failure's ``certificate`` is the server's, read apart from the failed
    handshake when verification refused it (None when it could not be had).
    """

    outcome = Outcome.TLS

    def __init__(self, failure: TLSFailure) -> None:
        super().__init__(failure.message())
        self.tls = failure


class OptionError(StreamError):
    outcome = Outcome.BAD_OPTION


class RedirectError(StreamError):
    outcome = Outcome.REDIRECTS


class HTTPStatusError(StreamError):
    outcome = Outcome.STATUS

    def __init__(
        self, status: int, reason: str, url: str, retry_after_ms: int | None
    ) -> None:
        super().__init__(f"HTTP {status} {reason}".rstrip())
        self.status = status
        self.url = url
        self.retry_after_ms = retry_after_ms


class ContentTypeError(StreamError):
    outcome = Outcome.CONTENT_TYPE

    def __init__(self, got: str) -> None:
        shown = repr(got) if got else "no Content-Type"
        super().__init__(f"expected Content-Type text/event-stream, got {shown}")
        self.got = got


class NoContentError(StreamError):
    outcome = Outcome.NO_CONTENT
    status = 204

    def __init__(self) -> None:
        super().__init__(
            "HTTP 204 No Content: the server asked the client not to reconnect"
        )


_ILLEGAL = {
    "connecting": "an attempt is already under way",
    "open": "the stream is open",
    "reconnecting": "the stream is waiting to reconnect",
    "closed": "the stream is closed for good",
}


class InvalidTransition(Exception):  # noqa: N818 - ARCHITECTURE.md's name for it
    """A state machine was asked for a move its table does not allow."""

    def __init__(self, state: Enum | None, to: Enum) -> None:
        why = _ILLEGAL[state.value] if state else "the stream has not started"
        super().__init__(f"cannot go to {to.value}: {why}")
        self.state = state
        self.to = to
