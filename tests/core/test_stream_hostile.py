"""The engine against hostile servers: compression bombs, storms, silent servers.

Real sockets: the raw server scripts every byte.  The full-size probes are in
tests/benchmarks/bench_hostile_client.py, the subprocess ones in tests/hostile.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import TYPE_CHECKING

from rawserver import Hang, RawServer, Send, head, sse
from test_stream import collect, of, options, run

from desktop.core.records import (
    Closed,
    Event,
    Notice,
    NoticeKind,
    Outcome,
    RawChunk,
)

if TYPE_CHECKING:
    from desktop.core.records import Record


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
