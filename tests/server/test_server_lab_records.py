"""The lab's records: published log, sent logs, browser reports, pulse."""

from __future__ import annotations

import asyncio
import gc
import gzip
import itertools
import json
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from server.sentlog import SentBudget, SentLog, SentRef as Tick
from server.subscriptions import Hub, Subscription
from server.ticker import TickIds

from liveserver import Parser, events_only, fast, items_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from server.settings import Settings

    from liveserver import Item, LiveServer

pytestmark = pytest.mark.anyio


async def pulses(response: httpx.Response, count: int) -> list[Item]:
    got: list[Item] = []
    async for item in items_of(response):
        if item.kind == "event" and item.type == "pulse":
            got.append(item)
            if len(got) == count:
                break
    return got


async def test_pulse_is_logged_and_published_reports_it_with_times(
    client: httpx.AsyncClient,
) -> None:
    since = time.time()
    assert (await client.post("/api/lab/pulse", json={"every_ms": 20})).json() == {
        "action": "pulse",
        "every_ms": 20,
    }
    async with client.stream("GET", "/api/events") as r:
        got = await pulses(r, 8)
    assert [json.loads(e.data)["every_ms"] for e in got] == [20] * 8
    ns = [json.loads(e.data)["n"] for e in got]
    assert ns == list(range(ns[0], ns[0] + 8))
    answer = (
        await client.get(
            "/api/lab/published",
            params={"topic": "events", "since": since, "until": time.time()},
        )
    ).json()
    assert answer["topic"] == "events" and answer["complete"] is True
    logged = [e for e in answer["events"] if e["type"] == "pulse"]
    assert {e.id for e in got} <= {e["id"] for e in logged}
    times = [e["published"] for e in logged]
    assert times == sorted(times)
    assert since <= times[0] and times[-1] <= time.time()
    steps = [b - a for a, b in itertools.pairwise(times)]
    assert 0.015 < sum(steps) / len(steps) < 0.04  # on schedule, 20 ms apart
    state = (await client.get("/api/lab")).json()
    assert state["pulse_ms"] == 20
    await client.post("/api/lab/reset")
    assert (await client.get("/api/lab")).json()["pulse_ms"] == 0
    stopped = time.time()  # reset stopped the pulse: nothing more is published
    await asyncio.sleep(0.1)
    after = await client.get("/api/lab/published", params={"since": stopped})
    assert not [e for e in after.json()["events"] if e["type"] == "pulse"]


async def test_published_says_incomplete_once_the_span_fell_out_of_the_log(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(log_size=5))
    async with httpx.AsyncClient(base_url=live.url) as client:
        since = time.time()
        for _ in range(8):
            await client.post("/api/lab/retry", json={"ms": 20})  # a logged `lab`
        answer = await client.get("/api/lab/published", params={"since": since})
        body = answer.json()
        assert len(body["events"]) == 5 and body["complete"] is False
        later = body["events"][1]["published"]
        tail = (await client.get("/api/lab/published", params={"since": later})).json()
        assert len(tail["events"]) == 4 and tail["complete"] is True
        await client.post("/api/lab/forget")
        gone = (await client.get("/api/lab/published", params={"since": later})).json()
        assert gone["complete"] is False


@pytest.mark.parametrize(
    ("topic", "says"), [("ticker", "no publish log"), ("nope", "no topic 'nope'")]
)
async def test_published_names_what_is_wrong_with_a_topic(
    client: httpx.AsyncClient, topic: str, says: str
) -> None:
    r = await client.get("/api/lab/published", params={"topic": topic})
    assert r.status_code == 404
    assert says in r.json()["detail"]


async def test_sent_shows_what_each_connection_sent_and_how_it_ended(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/lab/pulse", json={"every_ms": 10})
    async with client.stream("GET", "/api/events") as r:
        first = await pulses(r, 3)
    resume = first[-1].id or ""
    async with client.stream(
        "GET", "/api/events", headers={"Last-Event-ID": resume}
    ) as r:
        parser, seen = Parser(), []
        await asyncio.sleep(0.05)
        await client.post("/api/lab/drop")
        async for chunk in r.aiter_raw():  # ends cleanly: no exception
            seen.extend(events_only(parser.feed(chunk)))
    await client.post("/api/lab/pulse", json={"every_ms": 0})
    rows = (await client.get("/api/lab/sent", params={"topic": "events"})).json()[
        "subscriptions"
    ]
    assert len(rows) == 2
    one, two = rows
    assert one["number"] < two["number"]
    assert (one["last_event_id"], one["ending"]) == ("", "gone")
    assert (two["last_event_id"], two["ending"]) == (resume, "dropped")
    assert two["path"] == "/api/events" and two["closed"] >= two["opened"]
    with_ids = [(e.id, e.type) for e in seen if e.id]
    assert [(s["id"], s["type"]) for s in two["sent"]] == with_ids
    assert two["sent_total"] == len(with_ids)
    assert with_ids[0][0] != resume  # resumed right after it
    logged = (await client.get("/api/lab/published")).json()["events"]
    published = {e["id"]: e["published"] for e in logged}
    for sent in two["sent"]:
        assert sent["sent"] >= published[sent["id"]]
    ticker = (await client.get("/api/lab/sent", params={"topic": "ticker"})).json()
    assert ticker == {"subscriptions": [], "next": None}


async def test_sent_log_of_a_ticker_names_every_tick(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/api/ticker?rate=0&count=40&size=8") as r:
        got = events_only([i async for i in items_of(r)])
    rows = (await client.get("/api/lab/sent", params={"topic": "ticker"})).json()
    (row,) = rows["subscriptions"]
    assert (
        [s["id"] for s in row["sent"]]
        == [e.id for e in got]
        == [str(i) for i in range(40)]
    )
    assert row["ending"] == "finished" and row["sent_total"] == 40


def test_sent_log_is_bounded_by_events_and_keeps_the_newest() -> None:
    log = SentLog(10, SentBudget(1 << 20))
    for start in range(0, 35, 7):
        log.add(TickIds(start, start + 7), float(start), 64)
    entries, last = log.entries(0, 100)
    assert [e["id"] for e in entries] == [str(i) for i in range(25, 35)]
    assert entries[0]["sent"] == 21.0 and entries[-1]["sent"] == 28.0
    assert log.total == last == 35
    log.add((), 99.0, 0)  # a write without events (a ping) logs nothing
    assert log.total == 35
    page, last = log.entries(27, 3)  # positions count from 1: ids 27, 28, 29
    assert [e["id"] for e in page] == ["27", "28", "29"] and last == 30


def test_a_ticker_write_leaves_nothing_the_garbage_collector_tracks() -> None:
    # Each object a write keeps that the collector tracks brings its next run
    # closer; with one per tick the lab made a one-tick ticker pay for three
    # times as many collections (tests/benchmarks/bench_server.py --lab).
    log = SentLog(100_000, SentBudget(1 << 30))
    was_enabled = gc.isenabled()  # the Qt tests' gc guard keeps it off: leave it so
    gc.disable()
    try:
        before = len(gc.get_objects())
        for i in range(5_000):
            log.add(TickIds(i, i + 1), 1.0 + i, 64)
        grown = len(gc.get_objects()) - before
    finally:
        if was_enabled:
            gc.enable()
    assert grown < 50
    assert [e["id"] for e in log.entries(4_997, 10)[0]] == ["4997", "4998", "4999"]


def test_sent_log_pages_the_same_events_while_its_oldest_writes_are_let_go() -> None:
    # Broker writes (lists) and one-tick writes; trimming past the front of the
    # log many times over must not shift a position, an id or a write's time.
    log = SentLog(3_000, SentBudget(1 << 30))
    kept: list[tuple[str, float]] = []
    for i in range(10_000):
        if i % 3:
            log.add(TickIds(i, i + 1), float(i), 64)
        else:
            log.add([Tick(str(i), "tick")], float(i), 64)
        kept.append((str(i), float(i)))
        oldest, _ = log.entries(log.first - 1, 1)
        assert [(e["id"], e["sent"]) for e in oldest] == kept[-3_000:][:1]
    assert log.total == 10_000 and log.first == 7_001
    after, paged = 0, []
    while True:
        page, after = log.entries(after, 700)
        if not page:
            break
        paged += [(e["id"], e["sent"]) for e in page]
    assert paged == kept[-3_000:] and after == 10_000
    page, last = log.entries(9_000, 2)
    assert [e["id"] for e in page] == ["9000", "9001"] and last == 9_002
    log.clear()
    assert log.first == 10_001 and log.entries(0, 10) == ([], 0)


def test_sent_logs_together_stay_within_their_byte_budget() -> None:
    hub = Hub(keep_closed=10, sent_bytes=50_000)
    subs = [
        Subscription(
            n,
            client="c",
            path="/p",
            topic="t",
            backlog_bytes=100,
            sent_log=10_000,
            sent_budget=hub.sent_budget,
        )
        for n in range(1, 4)
    ]
    for sub in subs:
        hub.add(sub)
    for i in range(100):  # 10 KB of frames per write on the first one
        subs[0].log.add(TickIds(i, i + 1), 0.0, 10_000)  # type: ignore[union-attr]
    assert hub.sent_budget.used <= 50_000
    assert subs[0].log.total == 100  # type: ignore[union-attr]
    hub.remove(subs[0])  # closed: its log goes first when others need room
    for i in range(30):
        subs[1].log.add(TickIds(i, i + 1), 0.0, 1_000)  # type: ignore[union-attr]
    assert hub.sent_budget.used <= 50_000
    assert subs[0].log.size == 0  # type: ignore[union-attr]
    assert len(subs[1].log.entries(0, 100)[0]) == 30  # type: ignore[union-attr]


def test_the_hub_keeps_the_last_closed_subscriptions_only() -> None:
    hub = Hub(keep_closed=2)
    subs = [
        Subscription(n, client="c", path="/p", topic="t", backlog_bytes=100)
        for n in range(1, 5)
    ]
    for sub in subs:
        hub.add(sub)
    for sub in subs:
        hub.remove(sub)
    assert [s.number for s in hub.closed] == [3, 4]
    assert all(s.closed is not None for s in subs)
    assert not Hub().closed.maxlen  # lab off: nothing kept


async def test_sent_is_paged_with_an_opaque_cursor_and_bounded_pages(
    client: httpx.AsyncClient,
) -> None:
    async with client.stream("GET", "/api/ticker?rate=0&count=2500&size=8") as r:
        await r.aread()
    pages, params = [], {"topic": "ticker", "limit": "1000"}
    while True:
        answer = (await client.get("/api/lab/sent", params=params)).json()
        pages.append(answer)
        if answer["next"] is None:
            break
        params["since"] = answer["next"]
    assert [len(p["subscriptions"][0]["sent"]) for p in pages] == [1000, 1000, 500]
    ids = [e["id"] for p in pages for e in p["subscriptions"][0]["sent"]]
    assert ids == [str(i) for i in range(2500)]
    other = await client.get("/api/lab/sent", params={"since": "feedbeef.1.5"})
    assert other.status_code == 410 and "another server run" in other.json()["detail"]
    bad = await client.get("/api/lab/sent", params={"since": pages[0]["next"] + "x"})
    assert bad.status_code == 422


async def test_browser_observations_are_stored_listed_and_cleared(
    client: httpx.AsyncClient,
) -> None:
    one = {"kind": "open", "ready_state": 1, "at": 1000.5, "stream": "/api/events"}
    assert (await client.post("/api/lab/browser", json=one)).json() == {"stored": 1}
    batch = [
        {"kind": "message", "ready_state": 1, "id": "x-0-1", "type": "pulse", "at": 1},
        {"kind": "error", "ready_state": 0, "id": "x-0-1", "at": 2},
    ]
    assert (await client.post("/api/lab/browser", json=batch)).json() == {"stored": 2}
    got = (await client.get("/api/lab/browser")).json()["observations"]
    assert [o["kind"] for o in got] == ["open", "message", "error"]
    assert got[0]["stream"] == "/api/events" and got[2]["type"] == ""
    assert all(abs(o["received"] - time.time()) < 5 for o in got)
    bad = await client.post("/api/lab/browser", json={"kind": "close", "at": 1})
    assert bad.status_code == 422
    assert "kind" in bad.json()["message"] and "ready_state" in bad.json()["message"]
    assert (await client.delete("/api/lab/browser")).json() == {"cleared": 3}
    assert (await client.get("/api/lab/browser")).json() == {"observations": []}


async def test_pulse_refuses_a_period_too_short_to_be_useful(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/api/lab/pulse", json={"every_ms": 3})
    assert r.status_code == 422
    assert "at least 10 ms" in r.json()["message"]


async def test_reset_id_sends_an_empty_id_on_all_events_streams(
    client: httpx.AsyncClient,
) -> None:
    async with client.stream("GET", "/api/events") as r:
        for _ in range(200):
            if (await client.get("/api/streams")).json()["count"] == 1:
                break
            await asyncio.sleep(0.01)
        reply = await client.post("/api/lab/reset-id")
        assert reply.json() == {"action": "reset-id", "subscriptions": 1}
        got: list[Item] = []
        async for item in items_of(r):
            if item.type == "lab":
                got.append(item)
                if len(got) == 2:
                    break
    report, reset = got
    assert report.id and json.loads(report.data)["action"] == "reset-id"
    assert reset.id == "" and json.loads(reset.data) == {"action": "reset-id"}


async def test_a_gzipped_stream_dropped_ends_as_a_whole_gzip_body(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/lab/encoding", json={"mode": "gzip"})
    async with client.stream("GET", "/api/events") as r:
        await asyncio.sleep(0.05)
        await client.post("/api/lab/drop")
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
    items = Parser().feed(gzip.decompress(raw))  # complete: the trailer is there
    assert "lab" in [e.type for e in events_only(items)]


async def test_every_lab_path_says_the_lab_is_off_without_it(
    make_server: Callable[[Settings], LiveServer],
) -> None:
    live = make_server(fast(lab=False))
    async with httpx.AsyncClient(base_url=live.url) as client:
        for method, path in [
            ("GET", "/api/lab"),
            ("GET", "/api/lab/sent"),
            ("GET", "/api/lab/published"),
            ("POST", "/api/lab/browser"),
            ("DELETE", "/api/lab/browser"),
            ("POST", "/api/lab/pulse"),
        ]:
            r = await client.request(method, path)
            assert r.status_code == 404, path
            assert "the lab is off" in r.json()["detail"], path
