"""Resource bounds a client cannot talk the server out of: bodies, jobs."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest

from liveserver import fast

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio


async def raw_post(url: str, path: str, head: str, body_chunks: int) -> bytes:
    """POST a chunked body of ``body_chunks`` x 64 KiB; the response as it arrives.

    The body is written while the response is read, and writing stops once the
    server answered, as a client streaming an upload would.
    """
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)

    async def write() -> None:
        for _ in range(body_chunks):
            writer.write(chunk)
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    try:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: localhost\r\n{head}\r\n".encode())
        sender = asyncio.create_task(write())
        try:
            answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = int(answer.lower().split(b"content-length: ")[1].split(b"\r")[0])
            answer += await reader.readexactly(length)
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return answer
    finally:
        writer.close()
        await asyncio.gather(writer.wait_closed(), return_exceptions=True)


async def test_a_chunked_body_past_the_limit_gets_a_readable_413(
    live: LiveServer,
) -> None:
    head = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    answer = await raw_post(live.url, "/api/jobs", head, body_chunks=48)  # 3 MiB
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"message":"request body too large: the limit is 1,048,576 bytes' in answer


async def test_a_content_length_past_the_limit_is_refused_before_reading(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(max_body_bytes=1000))
    async with httpx.AsyncClient(base_url=live.url) as client:
        big = {"kind": "countdown", "params": {}, "pad": "x" * 2000}
        r = await client.post("/api/jobs", json=big)
        assert r.status_code == 413
        assert r.json()["limit"] == 1000 and "--max-body" in r.json()["message"]
        r = await client.post("/api/lab/browser", content=b"[" + b" " * 5000)
        assert r.status_code == 413
        r = await client.post("/api/jobs", json={"kind": "countdown", "params": {}})
        assert r.status_code == 201
        assert (await client.get("/api/info")).json()["settings"][
            "max_body_bytes"
        ] == 1000


async def start(
    client: httpx.AsyncClient, kind: str, **params: object
) -> httpx.Response:
    return await client.post("/api/jobs", json={"kind": kind, "params": params})


async def wait_finished(client: httpx.AsyncClient, job_id: str) -> None:
    for _ in range(500):
        if (await client.get(f"/api/jobs/{job_id}")).json()["finished_at"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("job did not finish")


async def test_a_start_past_the_running_cap_gets_429_with_retry_after(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(max_running_jobs=2))
    async with httpx.AsyncClient(base_url=live.url) as client:
        first = await start(client, "countdown", steps=100, interval_s=10)
        await start(client, "countdown", steps=100, interval_s=10)
        r = await start(client, "countdown")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0
        assert "2 jobs are running" in r.json()["message"]
        await client.post(f"/api/jobs/{first.json()['id']}/cancel")
        await wait_finished(client, first.json()["id"])
        assert (await start(client, "countdown", interval_s=0)).status_code == 201


async def test_a_job_log_is_bounded_in_bytes_and_finished_ones_by_total_bytes(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(job_log_bytes=4000, finished_jobs_bytes=10_000))
    broker = live.rt.broker
    async with httpx.AsyncClient(base_url=live.url) as client:
        ids = []
        for _ in range(4):
            r = await start(client, "build", lines=200, interval_s=0, warning_every=0)
            ids.append(r.json()["id"])
            await wait_finished(client, ids[-1])
            assert 0 < broker.retained_bytes(f"job:{ids[-1]}") <= 4000
        kept = [(await client.get(f"/api/jobs/{i}")).status_code for i in ids]
        assert kept == [404, 404, 200, 200]  # ~4 KB each, 10 KB for all of them
        assert broker.retained_bytes(f"job:{ids[0]}") == 0
