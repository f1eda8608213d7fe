"""Pure parts: wire frames, the broker's replay rules, the ticker, the page location."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from server.broker import MemoryBroker, StoredEvent
from server.encoding import Identity
from server.page import assets_dir
from server.response import EventStreamResponse
from server.subscriptions import Hub, Subscription, SubscriptionEnd
from server.ticker import Ticker, tick_data, tick_frames
from server.wire import comment_frame, event_frame, retry_frame

from liveserver import Parser, fast

if TYPE_CHECKING:
    import httpx
    from starlette.types import Message

pytestmark = pytest.mark.anyio


class Sink:
    def __init__(self) -> None:
        self.events: list[StoredEvent] = []
        self.finished = False

    def deliver(self, event: StoredEvent) -> None:
        self.events.append(event)

    def finish(self) -> None:
        self.finished = True


@pytest.mark.parametrize(
    ("args", "wire"),
    [
        (("tick", "x", "7"), b"id: 7\nevent: tick\ndata: x\n\n"),
        (("message", "x", None), b"data: x\n\n"),
        (
            ("log", "a\nb\r\nc\rd", None),
            b"event: log\ndata: a\ndata: b\ndata: c\ndata: d\n\n",
        ),
        (("log", "", None), b"event: log\ndata: \n\n"),
    ],
)
def test_event_frames(args: tuple[str, str, str | None], wire: bytes) -> None:
    assert event_frame(*args) == wire


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\0b"])
def test_ids_and_types_cannot_break_the_framing(bad: str) -> None:
    with pytest.raises(ValueError, match="must not contain"):
        event_frame("t", "x", bad)
    with pytest.raises(ValueError, match="must not contain"):
        event_frame(bad, "x")


def test_comment_and_retry_frames() -> None:
    assert comment_frame("ping") == b": ping\n\n"
    assert retry_frame(1500) == b"retry: 1500\n\n"
    with pytest.raises(ValueError):
        retry_frame(-1)


async def test_broker_replay_rules() -> None:
    broker = MemoryBroker(run_id="r1")
    await broker.open_topic("t", maxlen=3)
    published = [await broker.publish("t", "e", str(i)) for i in range(5)]
    assert [e.id for e in published] == [f"r1-0-{i}" for i in range(5)]
    sink = Sink()
    after = await broker.subscribe("t", sink, "r1-0-3", history=False)
    assert [e.data for e in after.events] == ["4"] and after.gap is None
    evicted = await broker.subscribe("t", Sink(), "r1-0-0", history=False)
    assert evicted.gap is not None and evicted.gap.lost == 1
    assert [e.data for e in evicted.events] == ["2", "3", "4"]
    for unknown in ("r2-0-1", "r1-1-1", "r1-0-99", "r1-0-x", "", "garbage"):
        replay = await broker.subscribe("t", Sink(), unknown, history=False)
        assert replay.gap is not None and replay.gap.lost is None, unknown
    whole = await broker.subscribe("t", Sink(), None, history=True)
    assert whole.gap is not None and whole.gap.lost == 2
    live = await broker.subscribe("t", Sink(), None, history=False)
    assert not live.events and live.gap is None
    await broker.publish("t", "e", "5")
    assert [e.data for e in sink.events] == ["5"]
    assert await broker.forget() == 3
    forgotten = await broker.subscribe("t", Sink(), "r1-0-3", history=False)
    assert forgotten.gap is not None and forgotten.gap.lost == 2
    await broker.close_topic("t")
    assert sink.finished
    closed = await broker.subscribe("t", Sink(), "r1-0-5", history=False)
    assert closed.closed and not closed.events and closed.gap is None


def test_ticker_events_are_pure_and_sized() -> None:
    assert tick_data(3, 40) == tick_data(3, 40)
    assert all(len(tick_data(i, 40)) == 40 for i in (0, 9, 10, 12345))
    items = Parser().feed(tick_frames(5, 8, 30))
    assert [(i.id, i.type) for i in items] == [
        ("5", "tick"),
        ("6", "tick"),
        ("7", "tick"),
    ]


def test_ticker_paces_by_rate_and_batches_what_is_due() -> None:
    ticker = Ticker(start=10, count=20, rate=100, size=10, now=0.0)
    assert ticker.next_due() == 0.0
    first = ticker.take(0.0, 65536)
    assert (first.events, first.last_id) == (1, "10")
    assert ticker.next_due() == pytest.approx(0.01)
    batch = ticker.take(0.055, 65536)
    assert (batch.events, batch.last_id) == (5, "15")
    rest = ticker.take(10.0, 65536)
    assert (rest.events, rest.last_id) == (4, "19")
    assert ticker.done and ticker.next_due() is None


def test_page_is_found_in_the_repo() -> None:
    assert (assets_dir() / "web" / "index.html").is_file()


async def test_page_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "new EventSource" in r.text


async def test_a_blocked_final_write_after_a_drop_is_still_cut_off() -> None:
    """The writer flushes queued frames on a drop; a client that never reads
    must not hold it there past the send timeout."""
    hub = Hub()
    sub = Subscription(1, client="c", path="/p", topic="t", backlog_bytes=10**6)
    settings = fast(send_timeout_s=0.1, ping_s=30)
    response = EventStreamResponse(sub, hub, settings, preamble=[], encoder=Identity())
    forever = asyncio.Event()

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            await forever.wait()  # the client never reads

    async def receive() -> Message:
        await forever.wait()
        return {"type": "http.disconnect"}

    watchdog = asyncio.create_task(hub.watch(30, 0.1))
    writer = asyncio.create_task(response({"type": "http"}, receive, send))
    try:
        await asyncio.sleep(0.02)
        sub.stall(60)
        sub.push(b"data: queued\n\n")
        sub.end(SubscriptionEnd.DROPPED)
        async with asyncio.timeout(3):
            await writer
    finally:
        watchdog.cancel()
        await asyncio.wait({watchdog})
    assert len(hub) == 0
