"""The reconnecting engine over real sockets: the raw server scripts every byte.

Each test runs the engine with ``asyncio.run`` in the test thread while the raw
server plays its scripts in its own thread, so the server's clock sees connection
arrivals and closes independently of the client.  Delays are tens of ms.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    DelaySource,
    Error,
    Event,
    Open,
    Outcome,
    RawChunk,
    Reconnecting,
    RetryField,
)
from desktop.core.engine.stream import EventStream

from rawserver import (
    Close,
    Hang,
    Pause,
    RawServer,
    Reset,
    Send,
    free_port,
    head,
    redirect,
    respond,
    sse,
)
from stream_checks import (
    RETRY_MS,
    check_records,
    collect,
    events,
    kinds,
    of,
    options,
    run,
    wait_until,
)

if TYPE_CHECKING:
    from desktop.core.engine.records import Record


def test_events_then_server_close_reconnects_with_last_event_id(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        sse(b"id: 7\ndata: a\n\n"),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), count=2)))
    assert kinds(records) == [
        "Connecting",
        "Open",
        "Event",
        "Reconnecting",
        "Connecting",
        "Open",
        "Event",
        "Closed",
    ]
    c1, c2 = of(records, Connecting)
    assert (c1.attempt, c1.url, c1.last_event_id) == (1, raw_server.url(), "")
    assert (c2.attempt, c2.url, c2.last_event_id) == (2, raw_server.url(), "7")
    (rec,) = of(records, Reconnecting)
    assert rec.outcome is Outcome.EOF
    assert (rec.delay_ms, rec.delay_source) == (RETRY_MS, DelaySource.OPTION)
    assert events(records) == [("message", "a", "7"), ("message", "b", "7")]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.COUNT, False)

    first, second = raw_server.requests
    assert first.header("Last-Event-ID") is None
    assert second.header("Last-Event-ID") == "7"
    for request in (first, second):
        assert request.method == "GET"
        assert request.path == "/stream"
        assert request.header("Accept") == "text/event-stream"
        assert request.header("Cache-Control") in ("no-cache", "no-store")


def test_open_and_event_fields(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"event: greet\nid: 42\nretry: 30\ndata: hi\n\n", end=Hang()),
    )
    before_mono, before_wall = time.monotonic(), time.time()
    records = run(collect(options(raw_server.url(), count=1)))
    after_mono, after_wall = time.monotonic(), time.time()
    _, opened, retry, event, _ = records
    assert isinstance(retry, RetryField)
    assert (retry.ms, retry.connection) == (30, opened.connection)
    assert isinstance(opened, Open)
    assert opened.status == 200
    assert opened.url == raw_server.url()
    assert ("content-type", "text/event-stream") in [
        (k.lower(), v) for k, v in opened.headers
    ]
    assert isinstance(event, Event)
    assert (event.type, event.data, event.id, event.retry) == ("greet", "hi", "42", 30)
    assert event.connection == opened.connection
    for record in records:
        assert before_mono <= record.at <= after_mono
        assert before_wall - 1 <= record.wall <= after_wall + 1


def test_empty_last_event_id_is_not_sent(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"id: 7\ndata: a\n\nid\ndata: b\n\n"),
        sse(b"data: c\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), count=3)))
    assert events(records) == [
        ("message", "a", "7"),
        ("message", "b", ""),
        ("message", "c", ""),
    ]
    assert of(records, Connecting)[1].last_event_id == ""
    assert [r.header("Last-Event-ID") for r in raw_server.requests] == [None, None]


def test_initial_last_event_id_option(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"data: a\n\n"),
        sse(b"data: b\n\nid: 9\ndata: c\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), last_event_id="start", count=3)))
    assert events(records) == [
        ("message", "a", "start"),
        ("message", "b", "start"),
        ("message", "c", "9"),
    ]
    assert [c.last_event_id for c in of(records, Connecting)] == ["start", "start"]
    assert [r.header("Last-Event-ID") for r in raw_server.requests] == [
        "start",
        "start",
    ]


def test_id_without_data_is_committed_and_sent_on_reconnect(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        sse(b"data: a\n\nid: 9\n\n"),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), count=2)))
    assert events(records) == [("message", "a", ""), ("message", "b", "9")]
    assert raw_server.requests[1].header("Last-Event-ID") == "9"


def test_unfinished_event_at_eof_is_discarded_with_its_id(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        sse(b"id: 1\ndata: a\n\nid: 2\ndata: partial\n"),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), count=2)))
    assert events(records) == [("message", "a", "1"), ("message", "b", "1")]
    assert raw_server.requests[1].header("Last-Event-ID") == "1"


def test_each_connection_decodes_afresh(raw_server: RawServer) -> None:
    """BOM stripped on every connection; no half event carried over."""
    raw_server.add(
        sse(b"\xef\xbb\xbfdata: a\n\nevent: x\ndata: half\n"),
        sse(b"\xef\xbb\xbfdata: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), count=2)))
    assert events(records) == [("message", "a", ""), ("message", "b", "")]


@pytest.mark.parametrize("ident", ["café", "😀", "\ufffd"])
def test_non_ascii_last_event_id_is_sent_as_utf8(
    raw_server: RawServer, ident: str
) -> None:
    """WHATWG: Last-Event-ID is the last event ID string, encoded as UTF-8."""
    raw_server.add(
        sse(b"id: " + ident.encode() + b"\ndata: a\n\n"),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), count=2)))
    assert events(records) == [("message", "a", ident), ("message", "b", ident)]
    sent = raw_server.requests[1].header("Last-Event-ID")
    assert sent is not None
    assert sent.encode("latin-1") == ident.encode()


def test_last_event_id_with_surrounding_spaces_still_reconnects(
    raw_server: RawServer,
) -> None:
    """``id:  7 `` sets the id to " 7 " (one space stripped): valid SSE.

    A browser sends it as it is (the server's HTTP parser then strips the
    whitespace around a header value); the reconnection must not fail.
    """
    raw_server.add(
        sse(b"id:  7 \ndata: a\n\n"),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), count=2, max_attempts=2)))
    assert events(records) == [("message", "a", " 7 "), ("message", "b", " 7 ")]
    assert raw_server.requests[1].header("Last-Event-ID") == "7"


def test_non_ascii_last_event_id_option_is_sent_as_utf8(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Hang()))
    run(collect(options(raw_server.url(), last_event_id="é-1", count=1)))
    sent = raw_server.requests[0].header("Last-Event-ID")
    assert sent is not None
    assert sent.encode("latin-1") == "é-1".encode()


def test_undecodable_body_ends_in_records_not_an_exception(
    raw_server: RawServer,
) -> None:
    """A body httpx cannot decode (bad gzip) is a failed attempt, not a crash."""
    bad = sse(b"data: a\n\n", headers=[("Content-Encoding", "gzip")])
    raw_server.add(bad, bad, bad)
    records = run(collect(options(raw_server.url(), max_attempts=1)))
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert closed.failed is True


def test_headers_option_on_every_attempt(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n"), sse(b"data: b\n\n", end=Hang()))
    headers = (("Authorization", "Bearer t0k"), ("X-Two", "2"))
    run(collect(options(raw_server.url(), headers=headers, count=2)))
    assert len(raw_server.requests) == 2
    for request in raw_server.requests:
        assert request.header("authorization") == "Bearer t0k"
        assert request.header("x-two") == "2"
        assert request.header("Accept") == "text/event-stream"


def test_post_with_body(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Hang()))
    opts = options(
        raw_server.url(),
        method="POST",
        body=b'{"q": 1}',
        headers=(("Content-Type", "application/json"),),
        count=1,
    )
    run(collect(opts))
    (request,) = raw_server.requests
    assert (request.method, request.body) == ("POST", b'{"q": 1}')
    assert request.header("content-type") == "application/json"
    assert request.header("accept") == "text/event-stream"


def test_crlf_split_across_network_reads(raw_server: RawServer) -> None:
    script = (
        Send(head()),
        Send(b"data: a\r"),
        Pause(0.05),
        Send(b"\ndata: b\r\n\r"),
        Pause(0.05),
        Send(b"\n"),
        Send(b"data: c\n\n"),
        Hang(),
    )
    raw_server.add(script)
    records = run(collect(options(raw_server.url(), count=2)))
    assert events(records) == [("message", "a\nb", ""), ("message", "c", "")]


def test_event_ending_in_cr_cr_is_not_held_back(raw_server: RawServer) -> None:
    """The event is complete at the second CR; the server then stays quiet."""
    raw_server.add(sse(b"data: a\r\r", end=Hang(5)))
    started = time.monotonic()
    records = run(collect(options(raw_server.url(), count=1)))
    assert events(records) == [("message", "a", "")]
    assert time.monotonic() - started < 2


# -- reconnection timing and the retry field -----------------------------------


def test_server_retry_overrides_the_option_and_is_honoured(
    raw_server: RawServer,
) -> None:
    raw_server.add(
        sse(b"retry: 80\ndata: a\n\n"),
        sse(b"data: b\n\n"),
        sse(b"data: c\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), retry_ms=5000, count=3), timeout=5))
    reconnects = of(records, Reconnecting)
    assert [(r.delay_ms, r.delay_source) for r in reconnects] == [
        (80, DelaySource.SERVER),
        (80, DelaySource.SERVER),  # retry stays in force on later connections
    ]
    conns = raw_server.connections
    for before, after in ((conns[0], conns[1]), (conns[1], conns[2])):
        assert before.ended is not None
        gap = after.arrived - before.ended
        assert 0.080 - 0.010 <= gap <= 0.080 + 0.250, gap
    for rec, nxt in zip(reconnects, of(records, Connecting)[1:], strict=True):
        assert nxt.at - rec.at >= 0.080 - 0.010


def test_option_delay_is_honoured(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n"), sse(b"data: b\n\n", end=Hang()))
    records = run(collect(options(raw_server.url(), retry_ms=120, count=2)))
    (rec,) = of(records, Reconnecting)
    assert (rec.delay_ms, rec.delay_source) == (120, DelaySource.OPTION)
    first, second = raw_server.connections[:2]
    assert first.ended is not None
    assert 0.110 <= second.arrived - first.ended <= 0.120 + 0.250


@pytest.mark.parametrize("value", [b"-5", b" 30", b"1.5", "١٢".encode(), b"30 "])
def test_invalid_retry_is_ignored(raw_server: RawServer, value: bytes) -> None:
    raw_server.add(
        sse(b"retry: " + value + b"\ndata: a\n\n"),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), retry_ms=40, count=2)))
    (rec,) = of(records, Reconnecting)
    assert (rec.delay_ms, rec.delay_source) == (40, DelaySource.OPTION)
    assert [e.retry for e in of(records, Event)] == [None, None]


def test_retry_only_block_sets_the_delay(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"retry: 35\n\ndata: a\n\n"),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), retry_ms=5000, count=2)))
    (rec,) = of(records, Reconnecting)
    assert (rec.delay_ms, rec.delay_source) == (35, DelaySource.SERVER)
    assert events(records) == [("message", "a", ""), ("message", "b", "")]


def test_default_delay_is_3000_ms(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n"))
    opts = StreamOptions(url=raw_server.url())
    started = time.monotonic()
    records = run(collect(opts, stop=lambda r: isinstance(r, Reconnecting)))
    rec = records[-1]
    assert isinstance(rec, Reconnecting)
    assert (rec.delay_ms, rec.delay_source) == (3000, DelaySource.DEFAULT)
    assert time.monotonic() - started < 2, "stopping during the wait must not wait"


# -- how attempts end ----------------------------------------------------------


def test_204_closes_for_good(raw_server: RawServer) -> None:
    raw_server.add(respond(204))
    records = run(collect(options(raw_server.url())))
    assert kinds(records) == ["Connecting", "Closed"]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.NO_CONTENT, False)
    time.sleep(0.1)
    assert len(raw_server.connections) == 1


@pytest.mark.parametrize("status", [500, 503, 404, 401, 201])
def test_non_200_status_fails_without_reconnect(
    raw_server: RawServer, status: int
) -> None:
    raw_server.add(respond(status, b"data: x\n\n", content_type="text/event-stream"))
    records = run(collect(options(raw_server.url())))
    assert kinds(records) == ["Connecting", "Closed"]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed, closed.status) == (
        Outcome.STATUS,
        True,
        status,
    )
    time.sleep(0.1)
    assert len(raw_server.connections) == 1


@pytest.mark.parametrize(
    "content_type",
    ["text/html", "application/json", "text/plain", None, "text/event-streaming"],
)
def test_wrong_content_type_fails_without_reconnect(
    raw_server: RawServer, content_type: str | None
) -> None:
    raw_server.add(sse(b"data: a\n\n", content_type=content_type))
    records = run(collect(options(raw_server.url())))
    assert kinds(records) == ["Connecting", "Closed"]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.CONTENT_TYPE, True)
    time.sleep(0.1)
    assert len(raw_server.connections) == 1


@pytest.mark.parametrize(
    "content_type",
    ["text/event-stream; charset=utf-8", "text/event-stream;charset=UTF-8"],
)
def test_content_type_parameters_are_allowed(
    raw_server: RawServer, content_type: str
) -> None:
    raw_server.add(sse(b"data: a\n\n", content_type=content_type, end=Hang()))
    records = run(collect(options(raw_server.url(), count=1)))
    assert kinds(records) == ["Connecting", "Open", "Event", "Closed"]


def test_connection_refused_is_retried_until_max_attempts() -> None:
    url = f"http://127.0.0.1:{free_port()}/stream"
    records = run(collect(options(url, max_attempts=2)))
    assert [c.attempt for c in of(records, Connecting)] == [1, 2, 3]
    assert all(r.outcome is Outcome.NETWORK for r in of(records, Reconnecting))
    assert of(records, Open) == []
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.MAX_ATTEMPTS, True)


def test_an_open_resets_the_attempt_count(raw_server: RawServer) -> None:
    ok = sse(b"data: a\n\n")
    drop = (Reset(),)
    raw_server.add(drop, ok, drop, ok, drop, drop, drop, drop)
    records = run(collect(options(raw_server.url(), max_attempts=2)))
    # 1 fails (first attempt, not a reconnection), 2 opens, 3 fails (1 of 2),
    # 4 opens, 5 fails (1), 6 fails (2): give up.
    assert len(of(records, Connecting)) == 6
    assert len(of(records, Open)) == 2
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.MAX_ATTEMPTS, True)
    assert len(raw_server.connections) == 6


def test_reset_mid_stream_reconnects_with_last_event_id(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"id: 3\ndata: a\n\n", end=Reset()),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), count=2)))
    (rec,) = of(records, Reconnecting)
    assert rec.outcome is Outcome.NETWORK
    assert raw_server.requests[1].header("Last-Event-ID") == "3"


def test_reset_before_response_is_a_network_error(raw_server: RawServer) -> None:
    raw_server.add((Reset(),), sse(b"data: b\n\n", end=Hang()))
    records = run(collect(options(raw_server.url(), count=1)))
    assert kinds(records) == [
        "Connecting",
        "Reconnecting",
        "Connecting",
        "Open",
        "Event",
        "Closed",
    ]
    assert of(records, Reconnecting)[0].outcome is Outcome.NETWORK


def test_read_timeout_reconnects(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"id: 1\ndata: a\n\n", end=Hang()),
        sse(b"data: b\n\n", end=Hang()),
    )
    records = run(collect(options(raw_server.url(), read_timeout=0.3, count=2)))
    (rec,) = of(records, Reconnecting)
    assert rec.outcome is Outcome.TIMEOUT
    assert raw_server.requests[1].header("Last-Event-ID") == "1"
    stalled = raw_server.wait_closed(0, timeout=2)
    assert stalled.client_closed is not None, "the stalled connection must be closed"


def test_read_timeout_while_waiting_for_headers_reconnects(
    raw_server: RawServer,
) -> None:
    raw_server.add((Hang(),), sse(b"data: b\n\n", end=Hang()))
    records = run(collect(options(raw_server.url(), read_timeout=0.3, count=1)))
    assert kinds(records) == [
        "Connecting",
        "Reconnecting",
        "Connecting",
        "Open",
        "Event",
        "Closed",
    ]
    assert of(records, Reconnecting)[0].outcome is Outcome.TIMEOUT


def test_no_reconnect_after_server_close_is_not_a_failure(
    raw_server: RawServer,
) -> None:
    raw_server.add(sse(b"data: a\n\n"))
    records = run(collect(options(raw_server.url(), reconnect=False)))
    assert kinds(records) == ["Connecting", "Open", "Event", "Closed"]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert closed.failed is False
    assert closed.outcome is Outcome.EOF
    time.sleep(0.1)
    assert len(raw_server.connections) == 1


def test_no_reconnect_after_network_error_is_a_failure() -> None:
    url = f"http://127.0.0.1:{free_port()}/stream"
    records = run(collect(options(url, reconnect=False)))
    assert kinds(records) == ["Connecting", "Closed"]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert closed.failed is True


def test_reconnect_on_status_is_opt_in(raw_server: RawServer) -> None:
    raw_server.add(respond(503), sse(b"data: a\n\n", end=Hang()))
    opts = options(raw_server.url(), reconnect_on_status=frozenset({503}), count=1)
    records = run(collect(opts))
    assert kinds(records) == [
        "Connecting",
        "Reconnecting",
        "Connecting",
        "Open",
        "Event",
        "Closed",
    ]


def test_backoff_is_capped(raw_server: RawServer) -> None:
    url = f"http://127.0.0.1:{free_port()}/stream"
    records = run(collect(options(url, retry_ms=10, max_backoff_ms=60, max_attempts=5)))
    delays = [(r.delay_ms, r.delay_source) for r in of(records, Reconnecting)]
    assert len(delays) >= 5
    assert all(0 <= d <= 60 for d, _ in delays), delays
    assert DelaySource.BACKOFF in {s for _, s in delays}, delays


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/x",
        "not a url",
        "http://[::1/x",
        "http://127.0.0.1:99999/",
        "http://exa mple.com/",
    ],
)
def test_bad_url_fails_at_once(url: str) -> None:
    records = run(collect(options(url, max_attempts=1), timeout=3))
    assert kinds(records) == ["Connecting", "Closed"]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.BAD_URL, True)


# -- redirects -----------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_followed_keeping_sse_headers(
    raw_server: RawServer, status: int
) -> None:
    raw_server.add(
        redirect(status, "/moved?x=1"),
        sse(b"data: a\n\n", end=Hang()),
    )
    opts = options(
        raw_server.url("/start"),
        last_event_id="L1",
        headers=(("X-Custom", "c"),),
        count=1,
    )
    records = run(collect(opts))
    assert kinds(records) == ["Connecting", "Open", "Event", "Closed"]
    connecting, opened = records[0], records[1]
    assert isinstance(connecting, Connecting)
    assert isinstance(opened, Open)
    assert connecting.url == raw_server.url("/start")
    assert opened.url == raw_server.url("/moved?x=1")
    first, second = raw_server.requests
    assert (first.path, second.target) == ("/start", "/moved?x=1")
    assert second.method == "GET"
    assert second.header("Accept") == "text/event-stream"
    assert second.header("Cache-Control") in ("no-cache", "no-store")
    assert second.header("Last-Event-ID") == "L1"
    assert second.header("X-Custom") == "c"


@pytest.mark.parametrize(
    ("status", "method"), [(307, "POST"), (308, "POST"), (303, "GET")]
)
def test_post_redirects_follow_browser_rules(
    raw_server: RawServer, status: int, method: str
) -> None:
    raw_server.add(redirect(status, "/moved"), sse(b"data: a\n\n", end=Hang()))
    opts = options(raw_server.url(), method="POST", body=b"q=1", count=1)
    run(collect(opts))
    second = raw_server.requests[1]
    assert second.method == method
    assert second.body == (b"q=1" if method == "POST" else b"")


# -- closing on purpose --------------------------------------------------------


def test_close_on_type_closes_after_that_event(raw_server: RawServer) -> None:
    raw_server.add(
        sse(
            b"data: a\n\nevent: END\ndata: no\n\nevent: end\ndata: e\n\ndata: b\n\n",
            end=Hang(),
        )
    )
    records = run(
        collect(options(raw_server.url(), close_on=frozenset({"end", "stop"})))
    )
    assert events(records) == [
        ("message", "a", ""),
        ("END", "no", ""),
        ("end", "e", ""),
    ]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.CLOSE_ON, False)
    conn = raw_server.wait_closed(0, timeout=2)
    assert conn.client_closed is not None
    assert len(raw_server.connections) == 1


def test_count_closes_after_n_events_even_within_one_read(
    raw_server: RawServer,
) -> None:
    raw_server.add(sse(b"".join(b"data: %d\n\n" % i for i in range(10)), end=Hang()))
    records = run(collect(options(raw_server.url(), count=3)))
    assert [e.data for e in of(records, Event)] == ["0", "1", "2"]
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.COUNT, False)
    assert raw_server.wait_closed(0, timeout=2).client_closed is not None


def test_count_spans_reconnects(raw_server: RawServer) -> None:
    raw_server.add(
        sse(b"data: 1\n\ndata: 2\n\n"), sse(b"data: 3\n\ndata: 4\n\n", end=Hang())
    )
    records = run(collect(options(raw_server.url(), count=3)))
    assert [e.data for e in of(records, Event)] == ["1", "2", "3"]


# -- optional records ----------------------------------------------------------


def test_comments_only_on_request(raw_server: RawServer) -> None:
    body = b": ping\n\ndata: a\n\n"
    raw_server.add(sse(body, end=Hang()), sse(body, end=Hang()))
    plain = run(collect(options(raw_server.url(), count=1)))
    assert of(plain, Comment) == []
    with_comments = run(collect(options(raw_server.url(), comments=True, count=1)))
    assert [c.text for c in of(with_comments, Comment)] == ["ping"]


def test_raw_chunks_are_the_body_bytes(raw_server: RawServer) -> None:
    body = [b"data: a\r", b"\n\r\n: x\n", b"data: \xe2\x82", b"\xac\n\n"]
    script = (Send(head()), *(s for b in body for s in (Send(b), Pause(0.02))), Close())
    raw_server.add(script)
    records = run(collect(options(raw_server.url(), raw=True, reconnect=False)))
    assert b"".join(r.data for r in of(records, RawChunk)) == b"".join(body)
    assert events(records) == [("message", "a", ""), ("message", "€", "")]


def test_oversized_event_is_an_error_and_the_stream_goes_on(
    raw_server: RawServer,
) -> None:
    big = b"data: " + b"x" * 5000 + b"\n"
    raw_server.add(
        sse(b"data: a\n\n", big, b"data: tail\n\n", b"data: ok\n\n", end=Hang())
    )
    records = run(collect(options(raw_server.url(), max_event_bytes=1000, count=2)))
    assert [e.data for e in of(records, Event)] == ["a", "ok"]
    assert len(of(records, Error)) == 1
    assert kinds(records) == ["Connecting", "Open", "Event", "Error", "Event", "Closed"]


# -- batches -------------------------------------------------------------------


def test_batches_group_the_records_of_one_network_read(raw_server: RawServer) -> None:
    script = (
        Send(head()),
        Pause(0.05),
        Send(b"data: 1\n\ndata: 2\n\ndata: 3\n\n"),
        Pause(0.1),
        Send(b"data: 4\n\n"),
        Hang(),
    )
    raw_server.add(script)

    async def main() -> list[list[Record]]:
        out: list[list[Record]] = []
        async with (
            asyncio.timeout(10),
            EventStream(options(raw_server.url(), count=4)) as s,
        ):
            async for batch in s.batches():
                assert isinstance(batch, list)
                assert batch, "no empty batches"
                out.append(batch)
        return out

    batches = run(main())
    flat = [r for b in batches for r in b]
    check_records(flat)
    assert [e.data for e in of(flat, Event)] == ["1", "2", "3", "4"]
    (together,) = [
        b for b in batches if any(isinstance(r, Event) and r.data == "1" for r in b)
    ]
    assert [e.data for e in of(together, Event)] == ["1", "2", "3"]


# -- cancellation and cleanup --------------------------------------------------


def test_cancelling_the_consumer_closes_the_socket_at_once(
    raw_server: RawServer,
) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Hang()))

    async def main() -> None:
        got_event = asyncio.Event()

        async def consume() -> None:
            async with EventStream(options(raw_server.url())) as stream:
                async for record in stream:
                    if isinstance(record, Event):
                        got_event.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(got_event.wait(), 5)
        cancelled_at = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        conn = raw_server.connections[0]
        seen = await wait_until(lambda: conn.client_closed is not None, timeout=1.0)
        assert seen is not None, "the server never saw the connection close"
        assert seen - cancelled_at < 1.0

    run(main())


def test_cancelling_while_waiting_for_headers_closes_the_socket(
    raw_server: RawServer,
) -> None:
    raw_server.add((Hang(),))  # reads the request, never answers

    async def main() -> None:
        async def consume() -> None:
            async with EventStream(options(raw_server.url())) as stream:
                async for _ in stream:
                    pass

        task = asyncio.create_task(consume())
        assert await wait_until(lambda: bool(raw_server.requests), timeout=5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        conn = raw_server.connections[0]
        assert await wait_until(lambda: conn.client_closed is not None, timeout=1.0)

    run(main())


def test_cancelling_during_the_reconnect_wait_is_prompt(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n"))

    async def main() -> None:
        waiting = asyncio.Event()

        async def consume() -> None:
            async with EventStream(
                options(raw_server.url(), retry_ms=30_000)
            ) as stream:
                async for record in stream:
                    if isinstance(record, Reconnecting):
                        waiting.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(waiting.wait(), 5)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 0.5

    run(main())
    assert len(raw_server.connections) == 1


def test_breaking_out_and_leaving_the_context_closes_the_socket(
    raw_server: RawServer,
) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Hang()))

    async def main() -> None:
        async with EventStream(options(raw_server.url())) as stream:
            async for record in stream:
                if isinstance(record, Event):
                    break
        conn = raw_server.connections[0]
        assert await wait_until(lambda: conn.client_closed is not None, timeout=1.0)

    run(main())


def test_a_given_client_is_used_and_left_open(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n", end=Hang()), respond(200, b"ok"))

    async def main() -> None:
        async with httpx.AsyncClient(headers={"X-From-Client": "yes"}) as client:
            records = await collect(options(raw_server.url(), count=1), client=client)
            assert events(records) == [("message", "a", "")]
            response = await client.get(raw_server.url("/after"))
            assert response.text == "ok"

    run(main())
    assert raw_server.requests[0].header("X-From-Client") == "yes"


def test_many_streams_leave_nothing_behind(raw_server: RawServer) -> None:
    """Open and close streams repeatedly on one loop: no task or socket left over."""
    for _ in range(10):
        raw_server.add(sse(b"data: a\n\n", end=Hang()))

    async def main() -> None:
        for _ in range(10):
            await collect(options(raw_server.url(), count=1))
        current = asyncio.current_task()
        assert [t for t in asyncio.all_tasks() if t is not current] == []

    run(main())
    for i in range(10):
        assert raw_server.wait_closed(i, timeout=2).client_closed is not None
