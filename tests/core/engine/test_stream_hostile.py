"""The engine against hostile servers: compression bombs, storms, silent servers.

Real sockets: the raw server scripts every byte.  The full-size probes are in
tests/benchmarks/bench_hostile_client.py, the subprocess ones in tests/hostile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from typing import TYPE_CHECKING

from desktop.core.engine.policy import BACKOFF_FLOOR_MS, STORM_ATTEMPTS
from desktop.core.engine.records import (
    Closed,
    Event,
    Notice,
    NoticeKind,
    Open,
    Outcome,
    RawChunk,
    Reconnecting,
)
from desktop.core.engine.stream import EventStream

from rawserver import Hang, Pause, RawServer, Send, head, sse
from stream_checks import check_records, collect, of, options, run

if TYPE_CHECKING:
    from desktop.core.engine.options import StreamOptions
    from desktop.core.engine.records import Record


def gzip(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


# -- decompression bombs ---------------------------------------------------------


def test_a_gzip_bomb_is_decoded_in_steps_and_the_loop_keeps_turning(
    raw_server: RawServer,
) -> None:
    """2 MB of line ends in one small read: the loop is never held for long."""
    body = gzip(b"\n" * (2 << 20) + b"data: end\n\n")
    raw_server.add(
        (Send(head(headers=[("Content-Encoding", "gzip")])), Send(body), Hang())
    )

    async def main() -> tuple[list[Record], float]:
        gaps = [0.0]

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        async with asyncio.TaskGroup() as tg:
            tick = tg.create_task(ticker())
            try:
                records = await collect(options(raw_server.url(), count=1, raw=True))
            finally:
                tick.cancel()
        return records, max(gaps)

    records, longest = run(main())
    assert [e.data for e in of(records, Event)] == ["end"]
    chunks = of(records, RawChunk)
    assert sum(len(c.data) for c in chunks) == (2 << 20) + 11
    assert max(len(c.data) for c in chunks) <= 64 << 10
    assert longest < 0.25, f"the loop was held for {longest:.2f} s"


def test_a_corrupt_gzip_body_is_a_network_error(raw_server: RawServer) -> None:
    """Also: the event it cut short is discarded out loud, as on a reset."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    good = c.compress(b"data: a\n\ndata: cut") + c.flush(zlib.Z_SYNC_FLUSH)
    bad = sse(good, b"\xff" * 32, headers=[("Content-Encoding", "gzip")], pause=0.05)
    raw_server.add(bad)
    records = run(collect(options(raw_server.url(), reconnect=False)))
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.NETWORK, True)
    assert closed.reason.startswith("cannot decode the response body")
    assert [e.data for e in of(records, Event)] == ["a"]
    assert [n.kind for n in of(records, Notice)] == [NoticeKind.DISCARDED]
    assert raw_server.requests[0].header("accept-encoding") == "gzip, deflate"


# -- a server that never answers ---------------------------------------------------


def test_no_headers_within_the_headers_timeout_is_a_reconnect(
    raw_server: RawServer,
) -> None:
    raw_server.add((Hang(),), (Hang(),))
    started = time.monotonic()
    records = run(
        collect(options(raw_server.url(), headers_timeout=0.3, max_attempts=1))
    )
    took = time.monotonic() - started
    assert [type(r).__name__ for r in records] == [
        "Connecting",
        "Reconnecting",
        "Connecting",
        "Closed",
    ]
    rec = of(records, Reconnecting)[0]
    assert rec.outcome is Outcome.TIMEOUT
    assert rec.reason == "no response headers within 0.3 s (headers timeout)"
    assert 0.55 < took < 3
    # Each attempt's socket was closed when its time was up.
    assert raw_server.wait_closed(0, timeout=2).client_closed is not None
    assert raw_server.wait_closed(1, timeout=2).client_closed is not None


def test_trickled_headers_are_cut_by_the_headers_timeout(
    raw_server: RawServer,
) -> None:
    """A byte every 0.1 s passes any read timeout; the headers timeout bounds it all."""
    trickle = tuple(s for b in head() for s in (Send(bytes([b])), Pause(0.1)))
    raw_server.add(trickle)
    records = run(
        collect(
            options(
                raw_server.url(), headers_timeout=0.5, read_timeout=0.3, reconnect=False
            )
        )
    )
    closed = records[-1]
    assert isinstance(closed, Closed)
    assert (closed.outcome, closed.failed) == (Outcome.TIMEOUT, True)
    assert "headers timeout" in closed.reason


def test_the_headers_timeout_leaves_an_open_stream_alone(raw_server: RawServer) -> None:
    raw_server.add(sse(b"data: a\n\n", b"data: b\n\n", pause=0.5, end=Hang()))
    records = run(collect(options(raw_server.url(), headers_timeout=0.2, count=2)))
    assert [e.data for e in of(records, Event)] == ["a", "b"]
    assert of(records, Reconnecting) == []


# -- reconnect storms ----------------------------------------------------------------


def _for_a_while(opts: StreamOptions, seconds: float) -> list[Record]:
    async def main() -> list[Record]:
        records: list[Record] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds), EventStream(opts) as stream:
                async for record in stream:
                    records.append(record)
        return records

    records: list[Record] = run(main())
    check_records(records, finished=False)
    return records


def test_backoff_spaces_a_server_that_answers_and_closes_at_once() -> None:
    """retry: 0 and a 200 closed at once: backoff grows from its floor anyway."""
    with RawServer(default=sse(b"retry: 0\n\n")) as server:
        opts = options(server.url(), retry_ms=None, max_backoff_ms=5000)
        records = _for_a_while(opts, 1.5)
    delays = [r.delay_ms for r in of(records, Reconnecting)]
    assert delays[0] == 0 and all(d >= BACKOFF_FLOOR_MS // 2 for d in delays[1:])
    assert len(of(records, Open)) <= 6, delays  # hundreds before
    assert of(records, Notice) == []


def test_a_storm_without_backoff_keeps_the_spec_and_says_so_once() -> None:
    with RawServer(default=sse(b"retry: 0\n\n")) as server:
        records = _for_a_while(options(server.url(), retry_ms=None), 0.6)
    reconnects = of(records, Reconnecting)
    assert len(reconnects) >= STORM_ATTEMPTS
    assert {r.delay_ms for r in reconnects} == {0}  # the spec: retry: 0 is honoured
    (notice,) = of(records, Notice)
    assert notice.kind is NoticeKind.RECONNECT_STORM
    assert "reconnection time is 0 ms and no backoff is set" in notice.detail
    at = records.index(notice)
    assert isinstance(records[at + 1], Reconnecting)
