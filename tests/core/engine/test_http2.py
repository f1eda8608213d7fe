"""HTTP/2 against a real HTTP/2 server (Hypercorn over TLS, trustme certificate).

Reconnects, Last-Event-ID, raw reads and cancellation work as on HTTP/1.1.
Trust is the TLS tests' subject: these use ``verify=False``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from desktop.core.engine.records import Open, RawChunk
from desktop.core.engine.stream import EventStream
from desktop.core.engine.transport import Transport

from proxies import h2_server
from stream_checks import collect, events, of, options, run

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("http2", "version", "seen"), [(True, "HTTP/2", "2"), (False, "HTTP/1.1", "1.1")]
)
def test_reconnect_and_last_event_id(
    tmp_path: Path, http2: bool, version: str, seen: str
) -> None:
    transport = Transport(verify=False, http2=http2)
    with h2_server(tmp_path) as server:
        records = run(collect(options(server.url, transport=transport, count=5)))
    assert [o.http_version for o in of(records, Open)] == [version] * 3
    assert [e[2] for e in events(records)] == ["1", "2", "3", "4", "5"]
    # every reconnect carried the last id it had seen
    assert server.seen == [(seen, ""), (seen, "2"), (seen, "4")]


def test_raw_reads_over_http2(tmp_path: Path) -> None:
    transport = Transport(verify=False)
    with h2_server(tmp_path) as server:
        opts = options(server.url, transport=transport, count=2, raw=True)
        records = run(collect(opts))
    raw = b"".join(r.data for r in of(records, RawChunk))
    assert b"id: 1\ndata: event 1\n\n" in raw
    assert of(records, Open)[0].http_version == "HTTP/2"


def test_cancelling_an_http2_stream_closes_it(tmp_path: Path) -> None:
    transport = Transport(verify=False)

    async def main(url: str) -> None:
        stream = EventStream(options(url, transport=transport))

        async def consume() -> None:
            async for record in stream:
                if isinstance(record, Open):
                    await asyncio.sleep(30)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await stream.aclose()

    with h2_server(tmp_path) as server:
        run(main(server.url))
        assert server.seen[0][0] == "2"
