"""Connections that never finish their headers, and requests past the cap."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import httpx
import pytest

from server.admission import is_stream_path
from server.connections import RateLimitedLog

from liveserver import fast

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio


async def open_raw(
    live: LiveServer,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = live.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def test_half_sent_headers_are_closed_at_the_deadline(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(headers_timeout_s=0.3))
    reader, writer = await open_raw(live)
    try:
        writer.write(b"GET /api/info HTTP/1.1\r\nHost: localhost\r\n")
        async with asyncio.timeout(3):
            assert await reader.read() == b""  # closed, nothing answered
    finally:
        writer.close()
        await asyncio.gather(writer.wait_closed(), return_exceptions=True)
    assert live.server.config.http_protocol_class.guard.timed_out == 1  # type: ignore[attr-defined]


async def test_past_the_request_cap_a_stream_is_told_to_retry_with_a_200(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(max_connections=8))  # 4 requests at once
    async with httpx.AsyncClient(base_url=live.url, timeout=5) as client:
        streams = [
            client.stream("GET", "/api/ticker?rate=1&count=100") for _ in range(4)
        ]
        opened = [await s.__aenter__() for s in streams]
        try:
            assert all(r.status_code == 200 for r in opened)
            async with client.stream("GET", "/api/events") as r:
                assert r.status_code == 200
                assert (await r.aread()).startswith(b"retry: 2000\n\n")
            r = await client.post("/api/jobs", json={"kind": "countdown"})
            assert r.status_code == 503 and r.headers["retry-after"] == "2"
            assert (await client.get("/api/info")).status_code == 200
        finally:
            for s in streams:
                await s.__aexit__(None, None, None)


def test_stream_paths_and_the_rate_limited_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert is_stream_path("/api/jobs/x-j1/events") and is_stream_path("/api/ticker")
    assert not is_stream_path("/api/jobs") and not is_stream_path("/api/info")
    caplog.set_level(logging.WARNING, logger="server.connections")
    log = RateLimitedLog(every_s=60)
    for _ in range(1000):
        log.warning("k", "full")
    assert [r.getMessage() for r in caplog.records] == ["full"]
