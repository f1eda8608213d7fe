"""Graceful shutdown: every open stream gets a final comment and closes within 2 s."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from liveserver import Item, Parser, fast, start

pytestmark = pytest.mark.anyio


async def test_shutdown_ends_every_stream_with_a_comment_within_two_seconds() -> None:
    live = start(fast(shutdown_timeout_s=2.0, ping_s=30))
    try:
        async with httpx.AsyncClient(base_url=live.url) as client:
            job = (
                await client.post(
                    "/api/jobs",
                    json={"kind": "countdown", "params": {"interval_s": 30}},
                )
            ).json()["id"]
            paths = ["/api/events", f"/api/jobs/{job}/events", "/api/ticker?rate=5"]
            results: list[list[Item]] = []

            async def read(path: str) -> None:
                parser, items = Parser(), []
                async with client.stream("GET", path) as r:
                    async for chunk in r.aiter_raw():
                        items.extend(parser.feed(chunk))
                results.append(items)

            async with asyncio.TaskGroup() as tg:
                for path in paths:
                    tg.create_task(read(path))
                for _ in range(200):
                    if len(live.rt.hub) == 3:
                        break
                    await asyncio.sleep(0.01)
                started = time.monotonic()
                stopper = asyncio.create_task(asyncio.to_thread(live.stop))
            elapsed = time.monotonic() - started
            await stopper
    finally:
        if live.thread.is_alive():
            live.stop()
    assert elapsed < 2.0
    assert len(results) == 3
    job_story = next(r for r in results if any(i.type == "status" for i in r))
    # Jobs are cancelled first, so a job stream ends with its `end`, as usual.
    assert job_story[-1].type == "end"
    assert json.loads(job_story[-1].data)["status"] == "cancelled"
    for items in results:
        if items is not job_story:
            assert items[-1].kind == "comment"
            assert items[-1].text == "server shutting down"
    everything = next(r for r in results if any(i.type == "stats" for i in r))
    server = [json.loads(i.data) for i in everything if i.type == "server"]
    assert server and server[-1]["state"] == "stopping"
