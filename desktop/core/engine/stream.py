"""The engine's network I/O: an httpx request loop that yields records.

One ``EventStream`` is one stream as a user sees it: it connects, decodes,
reconnects as the WHATWG processing model says (policy.py decides), and yields
a batch of records per network read (per 64 KiB decoded step of a compressed
one, inflate.py), so that consumers do per-read rather than per-event work.
httpx exceptions are mapped to errors.py here and nowhere else.

Cancelling the task that iterates (or calling ``aclose``) closes the socket at
once: the response and, when the stream made it, the client are closed in
``finally`` blocks and the cancellation propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import TYPE_CHECKING, cast

import httpx

from desktop.core.engine.credentials import load_jar
from desktop.core.engine.decoder import Decoder
from desktop.core.engine.error_body import read_error_response
from desktop.core.engine.errors import (
    BadURLError,
    ContentTypeError,
    HeadersTimeoutError,
    HTTPStatusError,
    NetworkError,
    NoContentError,
    OptionError,
    ProxyError,
    ReadTimeoutError,
    RedirectError,
    ServerClosedError,
    StreamError,
    TLSError,
)
from desktop.core.engine.handshake import tls_failure, tls_of
from desktop.core.engine.inflate import ACCEPT_ENCODING, ContentDecodingError, Inflater
from desktop.core.engine.policy import ReconnectPolicy, Stop
from desktop.core.engine.proxy import shown_proxy_for
from desktop.core.engine.records import (
    Closed,
    Connecting,
    Event,
    Notice,
    NoticeKind,
    Open,
    Outcome,
    RawChunk,
    Reconnecting,
    Record,
)
from desktop.core.engine.redirects import send_following
from desktop.core.engine.request import (
    check_url,
    is_event_stream,
    request_headers,
    retry_after_ms,
)
from desktop.core.engine.state import State, state_of, transition
from desktop.core.engine.transport import make_client, pinned_out_of_dates

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator
    from random import Random
    from types import TracebackType

    from desktop.core.engine.options import StreamOptions
    from desktop.core.engine.records import Hop


def _network_error(exc: httpx.TransportError) -> NetworkError:
    # httpx wraps the OS error ("All connection attempts failed"): name the cause.
    cause: BaseException | None = exc
    detail = str(exc) or type(exc).__name__
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno is not None:
            detail = (
                os.strerror(cause.errno) if cause.errno > 0 else str(cause.strerror)
            )
            break
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return NetworkError(f"cannot connect: {detail.lower()}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return NetworkError(f"connection lost: {detail}")
    return NetworkError(f"network error: {detail}")


def _transport_error(exc: httpx.TransportError, proxy: str | None) -> NetworkError:
    """A proxy's own failure named as the proxy's; the rest as _network_error."""
    if proxy is not None and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        # Through a proxy, the only connection the client makes is the proxy's.
        return ProxyError(proxy, _network_error(exc).message)
    if proxy is None or not isinstance(exc, httpx.ProxyError):
        return _network_error(exc)
    detail = str(exc) or type(exc).__name__  # "407 Proxy Authentication Required"
    status = int(detail[:3]) if detail[:3].isdigit() else None
    if status == 407:
        return ProxyError(proxy, ProxyError.AUTH, 407)
    refused = f"refused the tunnel (HTTP {detail})"
    return ProxyError(proxy, refused if status else detail, status)


async def _wait_until(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``deadline``, never less.

    A loop's timers may fire early (Qt's coarse timers under qasync by up to
    5 %: a 200 ms retry measured 189.7 ms), and a client must not reconnect
    before the reconnection time it shows.
    """
    for _ in range(4):  # an early wake-up leaves a remainder 20x smaller each time
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        await asyncio.sleep(remaining)


class EventStream:
    """A reconnecting event stream.

    ``async with EventStream(options) as stream: async for batch in stream.batches()``
    gives one list of records per network read; ``async for record in stream``
    gives them one by one.  The last record is always ``Closed``, unless the
    consumer stops first.
    """

    def __init__(
        self,
        options: StreamOptions,
        *,
        client: httpx.AsyncClient | None = None,
        rng: Random | None = None,
    ) -> None:
        self.options = options
        self.policy = ReconnectPolicy(options, rng)
        self.state: State | None = None
        self.last_event_id = options.last_event_id
        self._counted = 0  # events seen, all connections (only for close_on/count)
        self._client = client
        self._proxy = shown_proxy_for(options.transport, options.url)
        self._cookies = httpx.Cookies()  # the stream's jar (credentials.py)
        self._jar_problem: str | None = None
        self._gen: AsyncGenerator[list[Record], None] | None = None

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._gen is not None:
            await self._gen.aclose()

    def batches(self) -> AsyncIterator[list[Record]]:
        if self._gen is None:
            self._gen = self._run()
        return self._gen

    async def __aiter__(self) -> AsyncIterator[Record]:
        async for batch in self.batches():
            for record in batch:
                yield record

    # -- the loop -----------------------------------------------------------

    def _move(self, records: list[Record]) -> list[Record]:
        """Run the batch's state records through the transition table.

        A state record comes alone, or last after the items of a read (Closed
        after a close-on event), so only the last record needs a look: checking
        every record cost a tenth of the engine's per-event time.
        """
        to = state_of(records[-1])
        if to is not None:
            self.state = transition(self.state, to)
        return records

    async def _run(self) -> AsyncGenerator[list[Record], None]:
        options = self.options
        client = self._client or make_client(self.options.transport)
        attempt = 0
        if options.cookies or options.cookie_file:
            self._cookies, self._jar_problem = await load_jar(options)
        try:
            while True:
                attempt += 1
                yield self._move(
                    [
                        Connecting(
                            attempt,
                            options.url,
                            self._carried(),
                            time.monotonic(),
                            time.time(),
                            self._proxy,
                        )
                    ]
                )
                opened_at: float | None = None
                delivered = False  # an event came on this connection (backoff)
                try:
                    async with contextlib.aclosing(
                        self._attempt(client, attempt)
                    ) as batches:
                        async for batch in batches:
                            if opened_at is None:
                                if isinstance(batch[0], Open):
                                    opened_at = batch[0].at
                            elif not delivered:
                                delivered = any(type(r) is Event for r in batch)
                            yield self._move(batch)
                            if self.state is State.CLOSED:
                                return
                    raise AssertionError("an attempt ends with Closed or an error")
                except StreamError as exc:
                    error = exc
                now, wall = time.monotonic(), time.time()
                if opened_at is not None:
                    self.policy.ended(delivered, now - opened_at)
                status = error.status
                decision = self.policy.decide(
                    error.outcome, status=status, retry_after_ms=error.retry_after_ms
                )
                if isinstance(decision, Stop):
                    outcome, reason = error.outcome, error.message
                    if decision.exhausted:
                        outcome = Outcome.MAX_ATTEMPTS
                        reason = (
                            f"gave up after {self.policy.failures} reconnection "
                            f"attempts; last: {error.message}"
                        )
                    closed = Closed(
                        reason, outcome, decision.failed, status, now, wall, error.tls
                    )
                    closed.response = error.response
                    yield self._move([closed])
                    return
                records: list[Record] = []
                storm = self.policy.storm(now)
                if storm is not None:  # said, not prevented: the spec's delay stands
                    kind = NoticeKind.RECONNECT_STORM
                    records.append(Notice(kind, storm.detail(), attempt, now, wall))
                records.append(
                    Reconnecting(
                        decision.delay_ms,
                        decision.source,
                        error.message,
                        error.outcome,
                        attempt,
                        now,
                        wall,
                        error.response,
                    )
                )
                yield self._move(records)
                await _wait_until(now + decision.delay_ms / 1000)
        finally:
            if self._client is None:
                await client.aclose()

    def _carried(self) -> str:
        """The Last-Event-ID this attempt sends ("" for the naive client)."""
        return self.last_event_id if self.options.send_last_event_id else ""

    async def _attempt(
        self, client: httpx.AsyncClient, attempt: int
    ) -> AsyncGenerator[list[Record], None]:
        """One connection: yields Open, then item batches; raises how it ended."""
        options = self.options
        url = check_url(options.url)
        if self._jar_problem is not None:
            raise OptionError(self._jar_problem)
        headers = request_headers(options, self._carried())
        if not any(name.lower() == b"accept-encoding" for name, _ in headers):
            # Only the codings Inflater bounds: httpx would also offer br and
            # zstd once their libraries are installed.
            headers.append((b"Accept-Encoding", ACCEPT_ENCODING.encode()))
        answered = False  # a response came: a lost connection is no TLS matter
        try:
            async with contextlib.AsyncExitStack() as stack:
                response, hops = await self._send(stack, client, url, headers)
                answered = True
                await self._check_response(response, hops)
                self.policy.opened()
                opened = Open(
                    response.status_code,
                    tuple(response.headers.multi_items()),
                    attempt,
                    str(response.url),
                    time.monotonic(),
                    time.time(),
                    response.http_version,
                    tls_of(response),
                    hops,
                )
                yield [opened]
                out_of_dates = pinned_out_of_dates(
                    options.transport, response.url, opened.tls, opened.wall
                )
                if out_of_dates is not None:
                    kind = NoticeKind.PINNED_OUT_OF_DATES
                    yield [Notice(kind, out_of_dates, attempt, opened.at, opened.wall)]
                async with contextlib.aclosing(
                    self._read(response, attempt)
                ) as batches:
                    async for batch in batches:
                        yield batch
        except httpx.TooManyRedirects as exc:
            raise RedirectError(f"too many redirects: {exc}") from exc
        except httpx.ReadTimeout as exc:
            raise ReadTimeoutError(options.read_timeout) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise BadURLError(options.url, str(exc)) from exc
        except httpx.TransportError as exc:
            failure = await tls_failure(exc, url, answered=answered)
            if failure is None:
                raise _transport_error(exc, self._proxy) from exc
            raise TLSError(failure) from exc
        except (httpx.DecodingError, ContentDecodingError) as exc:
            # A body that cannot be decoded (bad gzip …) is a network error to a
            # browser too: the connection is dropped and the stream reconnects.
            raise NetworkError(f"cannot decode the response body: {exc}") from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc

    async def _send(
        self,
        stack: contextlib.AsyncExitStack,
        client: httpx.AsyncClient,
        url: httpx.URL,
        headers: list[tuple[bytes, bytes]],
    ) -> tuple[httpx.Response, tuple[Hop, ...]]:
        """The response, once its headers are in, and the redirects that led to
        it (redirects.py follows them); the body is left to read.

        httpx's timeouts are per operation (connect, each read), so a server
        that accepts and then trickles or withholds its headers is never cut
        off by them: the headers timeout bounds the whole wait, redirects too.
        """
        options = self.options
        per_operation = httpx.Timeout(
            connect=options.connect_timeout,
            read=options.read_timeout,
            write=options.connect_timeout,
            pool=options.connect_timeout,
        )
        deadline = asyncio.timeout(options.headers_timeout)
        try:
            async with deadline:
                return await send_following(
                    client,
                    stack,
                    method=options.method,
                    url=url,
                    headers=headers,
                    body=options.body,
                    per_operation=per_operation,
                    cookies=self._cookies,
                )
        except TimeoutError as exc:
            if not deadline.expired() or options.headers_timeout is None:
                raise
            raise HeadersTimeoutError(options.headers_timeout) from exc

    async def _check_response(
        self, response: httpx.Response, hops: tuple[Hop, ...]
    ) -> None:
        status = response.status_code
        if status == 204:
            raise NoContentError()
        if status == 407 and self._proxy is not None:
            # A forward proxy's answer to a plain-http request (an https one
            # gets it to its CONNECT, as httpx.ProxyError).
            raise ProxyError(self._proxy, ProxyError.AUTH, 407)
        content_type = response.headers.get("content-type", "")
        error: StreamError
        if status != 200:
            error = HTTPStatusError(
                status,
                response.reason_phrase,
                str(response.url),
                retry_after_ms(response.headers.get("retry-after")),
            )
        elif not is_event_stream(content_type):
            error = ContentTypeError(content_type)
            error.status = status  # a 200 all the same: shown, not "—"
        else:
            return
        # Kept so that a user sees why (error_body.py); the spec's handling of
        # the attempt is unchanged: policy.py still decides from the status.
        error.response = await read_error_response(response, hops)
        raise error

    async def _read(
        self, response: httpx.Response, attempt: int
    ) -> AsyncGenerator[list[Record], None]:
        options = self.options
        decoder = Decoder(
            max_event_bytes=options.max_event_bytes,
            last_event_id=self.last_event_id,
            comments=options.comments,
            connection=attempt,
        )
        policy = self.policy
        close_on = options.close_on
        count = options.count
        watch = bool(close_on) or count is not None
        raw = options.raw
        monotonic, now_wall = time.monotonic, time.time
        # The body's coding is undone here, a bounded step at a time, not by
        # httpx (inflate.py says why): a compressed read may be thousands of
        # steps, and the loop gets a turn between any two of them.
        inflater = Inflater.for_header(response.headers.get_list("content-encoding"))
        body = cast("AsyncGenerator[bytes, None]", response.aiter_raw())
        try:
            async with contextlib.aclosing(body) as reads:
                async for read in reads:
                    first = True
                    for chunk in inflater.steps(read):
                        if not first:
                            await asyncio.sleep(0)
                        first = False
                        at, wall = monotonic(), now_wall()
                        items = decoder.feed(chunk, at, wall)
                        if decoder.retry is not None:
                            policy.server_retry_ms = decoder.retry
                        self.last_event_id = decoder.last_event_id
                        if raw:
                            items.insert(0, RawChunk(chunk, attempt, at, wall))
                        if watch and self._watch(items, close_on, count, at, wall):
                            yield items
                            return
                        if items:
                            yield items
        except (httpx.TransportError, ContentDecodingError):
            # A connection lost mid-event loses that event too: say so, then let
            # _attempt map the error.
            notice = decoder.discard(monotonic(), now_wall())
            if notice is not None:
                yield [notice]
            raise
        # WHATWG: an unfinished event at the end of the stream is discarded.
        notice = decoder.discard(monotonic(), now_wall())
        if notice is not None:
            yield [notice]
        raise ServerClosedError(notice is not None)

    def _watch(
        self,
        items: list[Record],
        close_on: frozenset[str],
        count: int | None,
        at: float,
        wall: float,
    ) -> bool:
        """Cut ``items`` after a close-on event or the counted one; append Closed."""
        if not close_on and count is not None and self._counted + len(items) < count:
            # Cannot reach the count in this read: count without looking.
            self._counted += sum(type(item) is Event for item in items)
            return False
        for index, item in enumerate(items):
            if type(item) is not Event:
                continue
            self._counted += 1
            if item.type in close_on:
                reason = f"closed on a {item.type!r} event (close-on)"
                outcome = Outcome.CLOSE_ON
            elif count is not None and self._counted >= count:
                reason = f"received {self._counted} events"
                outcome = Outcome.COUNT
            else:
                continue
            del items[index + 1 :]
            items.append(Closed(reason, outcome, False, None, at, wall))
            return True
        return False
