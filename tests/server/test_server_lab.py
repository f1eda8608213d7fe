"""Every lab fault, as a real client sees it, and its report on /api/events."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from liveserver import Item, Parser, events_only, fast, items_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio


async def collect(
    response: httpx.Response, parser: Parser | None = None
) -> tuple[list[Item], str]:
    """Items until the stream ends; how it ended: "eof" or "error"."""
    parser = parser or Parser()
    items: list[Item] = []
    try:
        async for chunk in response.aiter_raw():
            items.extend(parser.feed(chunk))
    except httpx.RemoteProtocolError:
        return items, "error"
    return items, "eof"


async def streams_count(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/streams")).json()["count"])


async def wait_streams(client: httpx.AsyncClient, count: int) -> None:
    for _ in range(200):
        if await streams_count(client) == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"open streams never became {count}")


async def test_drop_ends_every_stream_after_reporting_it(
    client: httpx.AsyncClient,
) -> None:
    async with (
        client.stream("GET", "/api/events") as events,
        client.stream("GET", "/api/ticker?rate=20&count=100000") as ticker,
    ):
        await wait_streams(client, 2)
        r = await client.post("/api/lab/drop")
        assert r.json() == {"action": "drop", "subscriptions": 2}
        seen, how = await collect(events)
        ticks, how_ticker = await collect(ticker)
    assert how == how_ticker == "eof"  # a clean end of body: the server ended it
    lab = [json.loads(e.data) for e in events_only(seen) if e.type == "lab"]
    assert lab == [{"action": "drop", "detail": {"subscriptions": 2}}]
    assert events_only(ticks)
    assert await streams_count(client) == 0


async def test_cut_leaves_half_an_event_then_closes(client: httpx.AsyncClient) -> None:
    parser = Parser()
    async with client.stream("GET", "/api/ticker?rate=50&count=100000") as r:
        await wait_streams(client, 1)
        await client.post("/api/lab/cut")
        items, how = await collect(r, parser)
    assert how == "error"
    assert parser.partial  # an unfinished event, which a client must discard
    assert all(e.type == "tick" for e in events_only(items))


async def test_stall_sends_nothing_not_even_pings_then_resumes(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(ping_s=0.05))
    async with httpx.AsyncClient(base_url=live.url) as client:
        job = (
            await client.post(
                "/api/jobs", json={"kind": "countdown", "params": {"interval_s": 30}}
            )
        ).json()["id"]
        times: list[float] = []
        stalled_at = 0.0
        async with client.stream("GET", f"/api/jobs/{job}/events") as r:
            async for item in items_of(r):
                times.append(item.at)
                if item.kind == "comment" and not stalled_at:
                    stalled_at = time.monotonic()
                    reply = await client.post("/api/lab/stall", json={"seconds": 0.5})
                    assert reply.json()["seconds"] == 0.5
                if stalled_at and time.monotonic() - stalled_at > 1.2:
                    break
        await client.post(f"/api/jobs/{job}/cancel")
    # Pings written before the stall took hold may still arrive after the
    # request: the stall is the one long silence among 50 ms pings, wherever
    # a loaded machine lets it start.
    after = [t for t in times if t > stalled_at]
    silence = max(b - a for a, b in itertools.pairwise([stalled_at, *after]))
    assert 0.45 < silence < 0.9, silence
    assert len([t for t in after if t > stalled_at + silence]) >= 3  # pings came back


@pytest.mark.parametrize("status", [204, 401, 503, "html"])
async def test_refuse_answers_the_next_connects(
    client: httpx.AsyncClient, status: int | str
) -> None:
    r = await client.post(
        "/api/lab/refuse", json={"count": 2, "status": status, "retry_after_s": 7}
    )
    assert r.json()["count"] == 2
    for _ in range(2):
        got = await client.get("/api/ticker?count=1&rate=0")
        if status == "html":
            assert got.status_code == 200
            assert got.headers["content-type"].startswith("text/html")
        else:
            assert got.status_code == status
        if status == 503:
            assert got.headers["retry-after"] == "7"
        if status == 401:
            assert got.headers["www-authenticate"].startswith("Bearer")
    ok = await client.get("/api/ticker?count=1&rate=0")
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/event-stream")


async def test_retry_is_announced_on_open_streams_and_new_connects(
    client: httpx.AsyncClient,
) -> None:
    async with client.stream("GET", "/api/events") as r:
        await wait_streams(client, 1)
        await client.post("/api/lab/retry", json={"ms": 1234})
        async for item in items_of(r):
            if item.kind == "retry" and item.retry == 1234:
                break
    async with client.stream("GET", "/api/events") as r:
        async for item in items_of(r):
            assert item.kind == "retry" and item.retry == 1234
            break


async def test_forget_makes_a_resume_see_a_counted_gap(
    client: httpx.AsyncClient,
) -> None:
    job = (
        await client.post(
            "/api/jobs",
            json={"kind": "countdown", "params": {"steps": 3, "interval_s": 0}},
        )
    ).json()["id"]
    async with client.stream("GET", f"/api/jobs/{job}/events") as r:
        story = events_only([i async for i in items_of(r)])
    reply = await client.post("/api/lab/forget")
    assert reply.json()["events"] >= len(story)
    headers = {"Last-Event-ID": story[2].id or ""}
    async with client.stream("GET", f"/api/jobs/{job}/events", headers=headers) as r:
        after = events_only([i async for i in items_of(r)])
    assert [e.type for e in after] == ["replay-gap"]
    assert json.loads(after[0].data)["lost"] == len(story) - 3


async def test_omit_end_closes_without_end_and_a_resume_gets_204(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/lab/omit-end", json={"count": 1})
    ids = []
    for _ in range(2):
        r = await client.post(
            "/api/jobs",
            json={"kind": "countdown", "params": {"steps": 2, "interval_s": 0}},
        )
        ids.append(r.json()["id"])
    stories = []
    for job in ids:
        async with client.stream("GET", f"/api/jobs/{job}/events") as r:
            stories.append(events_only([i async for i in items_of(r)]))
    assert "end" not in [e.type for e in stories[0]]
    assert stories[1][-1].type == "end"
    last = stories[0][-1].id or ""
    again = await client.get(
        f"/api/jobs/{ids[0]}/events", headers={"Last-Event-ID": last}
    )
    assert again.status_code == 204


async def test_gzip_encoding_for_new_streams(client: httpx.AsyncClient) -> None:
    await client.post("/api/lab/encoding", json={"mode": "gzip"})
    async with client.stream("GET", "/api/ticker?rate=0&count=50&size=20") as r:
        assert r.headers["content-encoding"] == "gzip"
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
    items = Parser().feed(gzip.decompress(raw))
    assert [e.id for e in events_only(items)] == [str(i) for i in range(50)]


async def test_buffering_proxy_holds_bytes_back(client: httpx.AsyncClient) -> None:
    await client.post(
        "/api/lab/encoding", json={"mode": "buffer", "buffer_bytes": 2000}
    )
    async with client.stream("GET", "/api/ticker?rate=100&count=60&size=10") as r:
        sizes = [len(chunk) async for chunk in r.aiter_raw()]
    assert sizes[0] >= 2000  # nothing reached the client before 2000 bytes piled up


async def test_every_action_is_reported_on_all_events(
    client: httpx.AsyncClient,
) -> None:
    actions = [
        ("refuse", {"count": 1, "status": 204}),
        ("retry", {"ms": 50}),
        ("forget", None),
        ("omit-end", {"count": 0}),
        ("encoding", {"mode": "identity"}),
        ("stall", {"seconds": 0.01}),
        ("reset", None),
    ]
    seen: list[str] = []
    async with client.stream("GET", "/api/events") as r:
        await wait_streams(client, 1)
        for action, body in actions:
            assert (
                await client.post(f"/api/lab/{action}", json=body)
            ).status_code == 200
        async for item in items_of(r):
            if item.type == "lab":
                assert item.id  # logged: a resume replays it
                seen.append(json.loads(item.data)["action"])
                if len(seen) == len(actions):
                    break
    assert seen == [a for a, _ in actions]
    state = (await client.get("/api/lab")).json()
    assert state["encoding"] == "identity" and state["refuse_left"] == 0


async def test_lab_routes_are_absent_without_lab(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(lab=False))
    async with httpx.AsyncClient(base_url=live.url) as client:
        assert (await client.post("/api/lab/drop")).status_code == 404
        info = (await client.get("/api/info")).json()
        assert info["features"]["lab"] is False
