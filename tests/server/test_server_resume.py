"""Last-Event-ID resume over many forced drops loses and repeats nothing."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from liveserver import Item, Parser, events_only

pytestmark = pytest.mark.anyio


async def test_ticker_over_100_client_drops_gets_every_id_once(
    client: httpx.AsyncClient,
) -> None:
    rng = random.Random(4)
    count = 20_000
    path = f"/api/ticker?rate=0&size=16&count={count}"
    ids: list[str] = []
    drops = 0
    while True:
        headers = {"Last-Event-ID": ids[-1]} if ids else {}
        budget = rng.randint(1, 300) if drops < 100 else None
        async with client.stream("GET", path, headers=headers) as r:
            if r.status_code == 204:
                break
            parser = Parser()
            async for chunk in r.aiter_raw():
                got = events_only(parser.feed(chunk))
                ids.extend(e.id or "" for e in got[:budget])
                if budget is not None and len(got) >= budget:
                    drops += 1
                    break
                if budget is not None:
                    budget -= len(got)
    assert drops == 100
    assert ids == [str(i) for i in range(count)]


async def test_a_job_stream_over_100_server_drops_and_cuts_loses_nothing(
    client: httpx.AsyncClient,
) -> None:
    job = (
        await client.post(
            "/api/jobs",
            json={"kind": "build", "params": {"lines": 2500, "interval_s": 0.001}},
        )
    ).json()["id"]
    seen: list[Item] = []
    connects = 0

    async def reader() -> None:
        nonlocal connects
        while not seen or seen[-1].type != "end":
            headers = {"Last-Event-ID": seen[-1].id or ""} if seen else {}
            connects += 1
            try:
                async with client.stream(
                    "GET", f"/api/jobs/{job}/events", headers=headers
                ) as r:
                    assert r.status_code == 200
                    parser = Parser()
                    async for chunk in r.aiter_raw():
                        seen.extend(events_only(parser.feed(chunk)))
            except httpx.RemoteProtocolError:
                pass  # dropped or cut: reconnect at once

    async def breaker() -> None:
        for n in range(100):
            await asyncio.sleep(0.015)
            await client.post("/api/lab/cut" if n % 2 else "/api/lab/drop")

    async with asyncio.TaskGroup() as tg:
        tg.create_task(reader())
        tg.create_task(breaker())
    async with client.stream("GET", f"/api/jobs/{job}/events") as r:
        parser = Parser()
        whole = events_only(
            [i for c in [c async for c in r.aiter_raw()] for i in parser.feed(c)]
        )
    assert connects > 50
    assert "replay-gap" not in {e.type for e in seen}
    assert [e.id for e in seen] == [e.id for e in whole]
    assert [e.data for e in seen] == [e.data for e in whole]
