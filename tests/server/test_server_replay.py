"""Every row of the replay table, ids, retry, headers, pings and the stats gauge."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from liveserver import FAST, Item, events_only, fast, items_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio


async def read(
    client: httpx.AsyncClient,
    path: str,
    last_event_id: str | None = None,
    *,
    until: Callable[[Item], bool] | None = None,
) -> tuple[int, list[Item]]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    items: list[Item] = []
    async with client.stream("GET", path, headers=headers) as r:
        if r.status_code != 200:
            return r.status_code, items
        async for item in items_of(r):
            items.append(item)
            if until is not None and until(item):
                break
    return 200, items


async def start_job(client: httpx.AsyncClient, kind: str, **params: object) -> str:
    r = await client.post("/api/jobs", json={"kind": kind, "params": params})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def wait_done(client: httpx.AsyncClient, job_id: str, at_least: int) -> None:
    for _ in range(500):
        if (await client.get(f"/api/jobs/{job_id}")).json()["progress"][
            "done"
        ] >= at_least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("job made no progress")


async def wait_finished(client: httpx.AsyncClient, job_id: str) -> None:
    for _ in range(500):
        if (await client.get(f"/api/jobs/{job_id}")).json()["finished_at"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("job did not finish")


async def test_headers_retry_first_and_ids_on_logged_events(
    client: httpx.AsyncClient,
) -> None:
    job = await start_job(client, "countdown", steps=2, interval_s=0)
    async with client.stream("GET", f"/api/jobs/{job}/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        # no-transform: a proxy must not compress or rewrite it (RFC 9111 5.2.2.6)
        assert r.headers["cache-control"] == "no-cache, no-transform"
        assert r.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in r.headers
        items = [i async for i in items_of(r)]
    assert items[0].kind == "retry" and items[0].retry == FAST.retry_ms
    story = events_only(items)
    assert all(e.id for e in story)
    assert len({e.id for e in story}) == len(story)


async def test_running_job_without_id_replays_whole_story_then_live_then_end(
    client: httpx.AsyncClient,
) -> None:
    job = await start_job(client, "countdown", steps=30, interval_s=0.01)
    await wait_done(client, job, 5)
    _, items = await read(client, f"/api/jobs/{job}/events")
    story = events_only(items)
    assert json.loads(story[0].data) == {"job": job, "status": "running", "phase": None}
    assert [e.type for e in story].count("progress") == 30
    assert story[-1].type == "end"
    # the same story when read again after the end
    _, again = await read(client, f"/api/jobs/{job}/events")
    assert [(e.id, e.data) for e in events_only(again)] == [
        (e.id, e.data) for e in story
    ]


async def test_resume_with_a_job_id_continues_right_after_it(
    client: httpx.AsyncClient,
) -> None:
    job = await start_job(client, "build", lines=40, interval_s=0.005)
    _, items = await read(client, f"/api/jobs/{job}/events")
    story = events_only(items)
    for k in (0, 7, len(story) - 2):
        _, rest = await read(client, f"/api/jobs/{job}/events", story[k].id)
        assert [e.id for e in events_only(rest)] == [e.id for e in story[k + 1 :]]


async def test_resume_while_running_loses_and_repeats_nothing(
    client: httpx.AsyncClient,
) -> None:
    job = await start_job(client, "countdown", steps=40, interval_s=0.005)
    seen: list[Item] = []
    last: str | None = None
    while not seen or seen[-1].type != "end":
        _, items = await read(
            client, f"/api/jobs/{job}/events", last, until=lambda i: i.kind == "event"
        )
        got = events_only(items)
        seen.extend(got)
        last = seen[-1].id if seen else None
    _, whole = await read(client, f"/api/jobs/{job}/events")
    assert [e.id for e in seen] == [e.id for e in events_only(whole)]


async def test_resume_from_the_end_id_is_204(client: httpx.AsyncClient) -> None:
    job = await start_job(client, "countdown", steps=1, interval_s=0)
    _, items = await read(client, f"/api/jobs/{job}/events")
    end = events_only(items)[-1]
    assert end.type == "end"
    status, _ = await read(client, f"/api/jobs/{job}/events", end.id)
    assert status == 204


async def test_all_events_is_live_from_now_with_stats_first(
    client: httpx.AsyncClient,
) -> None:
    old = await start_job(client, "countdown", steps=1, interval_s=0)
    await wait_done(client, old, 1)
    seen: list[Item] = []
    async with client.stream("GET", "/api/events") as r:
        new = None
        async for item in items_of(r):
            seen.append(item)
            if new is None and item.type == "stats":
                new = await start_job(client, "countdown", steps=1, interval_s=0)
            if item.type == "job" and json.loads(item.data)["status"] == "succeeded":
                break
    events = events_only(seen)
    assert events[0].type == "stats" and events[0].id is None
    assert json.loads(events[0].data)["subscriptions"] == 1  # this one
    jobs = [json.loads(e.data)["job"] for e in events if e.type == "job"]
    assert old not in jobs and set(jobs) == {new}


async def test_stats_arrive_every_interval_without_ids(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(stats_interval_s=0.1))
    async with httpx.AsyncClient(base_url=live.url) as client:
        started = time.monotonic()
        stats: list[Item] = []
        async with client.stream("GET", "/api/events") as r:
            async for item in items_of(r):
                if item.type == "stats":
                    stats.append(item)
                    if len(stats) == 5:
                        break
    elapsed = time.monotonic() - started
    assert all(s.id is None for s in stats)
    assert set(json.loads(stats[0].data)) == {
        "subscriptions",
        "running_jobs",
        "events_per_s",
        "published",
        "uptime_s",
    }
    assert 0.25 < elapsed < 2.0


async def test_unknown_id_gives_replay_gap_then_oldest_retained(
    client: httpx.AsyncClient,
) -> None:
    job = await start_job(client, "countdown", steps=2, interval_s=0)
    _, whole = await read(client, f"/api/jobs/{job}/events")
    _, items = await read(client, f"/api/jobs/{job}/events", "not-an-id")
    events = events_only(items)
    assert events[0].type == "replay-gap" and events[0].id is None
    assert json.loads(events[0].data) == {
        "last_event_id": "not-an-id",
        "lost": None,
        "reason": "unknown",
    }
    assert [e.id for e in events[1:]] == [e.id for e in events_only(whole)]


async def test_evicted_id_on_all_events_counts_what_was_lost(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(log_size=4, lab=True))
    async with httpx.AsyncClient(base_url=live.url) as client:
        first: list[Item] = []
        async with client.stream("GET", "/api/events") as r:
            await client.post("/api/lab/reset")
            async for item in items_of(r):
                if item.type == "lab":
                    first.append(item)
                    break
        for _ in range(6):  # six more logged `lab` events push the first out of 4
            await client.post("/api/lab/reset")
        _, items = await read(
            client,
            "/api/events",
            first[0].id,
            until=lambda i: i.kind == "event" and i.type == "stats",
        )
    events = events_only(items)
    assert events[0].type == "replay-gap"
    assert json.loads(events[0].data) == {
        "last_event_id": first[0].id,
        "lost": 2,
        "reason": "evicted",
    }
    assert [e.type for e in events[1:5]] == ["lab"] * 4


async def test_job_log_bound_makes_the_story_start_with_a_gap(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(job_log_size=10))
    async with httpx.AsyncClient(base_url=live.url) as client:
        job = await start_job(client, "build", lines=20, interval_s=0, warning_every=0)
        await wait_finished(client, job)
        _, items = await read(client, f"/api/jobs/{job}/events")
    events = events_only(items)
    gap = json.loads(events[0].data)
    assert events[0].type == "replay-gap" and gap["reason"] == "evicted"
    assert gap["lost"] > 0
    assert len(events) == 11 and events[-1].type == "end"


async def test_an_id_from_another_run_is_a_gap_of_unknown_size(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    first, second = make_server(FAST), make_server(FAST)
    async with httpx.AsyncClient(base_url=first.url) as a:
        await a.post("/api/lab/reset")
        _, items = await read(
            a, "/api/events", "x", until=lambda i: i.kind == "event" and i.type == "lab"
        )
        old_id = events_only(items)[-1].id
    assert old_id is not None
    async with httpx.AsyncClient(base_url=second.url) as b:
        _, items = await read(
            b, "/api/events", old_id, until=lambda i: i.kind == "event"
        )
    gap = events_only(items)[0]
    assert gap.type == "replay-gap"
    assert json.loads(gap.data)["lost"] is None


async def test_ticker_is_a_pure_function_of_i_and_resumes_after_i(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    first, second = make_server(FAST), make_server(FAST)
    path = "/api/ticker?rate=0&size=50&count=200"
    async with httpx.AsyncClient(base_url=first.url) as a:
        _, one = await read(a, path)
    async with httpx.AsyncClient(base_url=second.url) as b:
        _, two = await read(b, path)
        _, resumed = await read(b, path, "41")
        status, _ = await read(b, path, "199")
        _, garbage = await read(b, path, "abc")
    ticks = events_only(one)
    assert [e.id for e in ticks] == [str(i) for i in range(200)]
    assert [(e.id, e.data) for e in ticks] == [(e.id, e.data) for e in events_only(two)]
    assert all(len(e.data) == 50 for e in ticks)
    assert [e.id for e in events_only(resumed)] == [str(i) for i in range(42, 200)]
    assert status == 204
    assert events_only(garbage)[0].type == "replay-gap"
    assert events_only(garbage)[1].id == "0"


async def test_ticker_rate_paces_events(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    _, items = await read(client, "/api/ticker?rate=50&count=10")
    elapsed = time.monotonic() - started
    assert len(events_only(items)) == 10
    assert 0.15 < elapsed < 1.5  # 9 intervals of 20 ms


async def test_pings_are_comments_on_the_interval_when_idle(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(ping_s=0.05, stats_interval_s=60))
    async with httpx.AsyncClient(base_url=live.url) as client:
        job = await start_job(client, "countdown", steps=2, interval_s=30)
        pings: list[float] = []
        async with client.stream("GET", f"/api/jobs/{job}/events") as r:
            async for item in items_of(r):
                if item.kind == "comment":
                    assert item.text == "ping"
                    pings.append(item.at)
                    if len(pings) == 8:
                        break
        await client.post(f"/api/jobs/{job}/cancel")
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert all(0.03 < g < 0.2 for g in gaps), gaps
    assert 0.04 < sum(gaps) / len(gaps) < 0.09
