"""Lab tags: a fault sent with a tag reaches that tag's clients and spares the rest.

The user's own tab stands in as an untagged subscription; a lesson's streams carry
``?lab_tag=`` (or ``X-Lab-Tag``).  Each test checks both sides: the tagged one is
hit, the other is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from typing import TYPE_CHECKING

import httpx
import pytest

from server.faults import MAX_TAGS, LabState

from liveserver import Item, Parser, events_only, items_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio

TAG = "lesson-1-ab12cd"


async def open_streams(client: httpx.AsyncClient) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = (await client.get("/api/streams")).json()[
        "subscriptions"
    ]
    return rows


async def wait_open(client: httpx.AsyncClient, count: int) -> list[dict[str, object]]:
    for _ in range(300):
        rows = await open_streams(client)
        if len(rows) == count:
            return rows
        await asyncio.sleep(0.01)
    raise AssertionError(f"open streams never became {count}")


async def sent_rows(
    client: httpx.AsyncClient, **params: str
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = (
        await client.get("/api/lab/sent", params=params)
    ).json()["subscriptions"]
    return rows


class Reader:
    """Reads one stream in the background: its items, and how it ended."""

    def __init__(self, response: httpx.Response) -> None:
        self.items: list[Item] = []
        self.ended: str | None = None  # "eof" | "error" once over
        self.parser = Parser()
        self._task = asyncio.ensure_future(self._read(response))

    async def _read(self, response: httpx.Response) -> None:
        try:
            async for chunk in response.aiter_raw():
                self.items.extend(self.parser.feed(chunk))
            self.ended = "eof"
        except httpx.RemoteProtocolError:
            self.ended = "error"

    async def until(self, what: str, check: object, limit_s: float = 3.0) -> None:
        for _ in range(int(limit_s / 0.01)):
            if callable(check) and check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"never: {what}")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@contextlib.asynccontextmanager
async def pair(
    client: httpx.AsyncClient, tagged_path: str = f"/api/events?lab_tag={TAG}"
) -> AsyncIterator[tuple[Reader, Reader]]:
    async with (
        client.stream("GET", "/api/events") as mine,
        client.stream("GET", tagged_path) as lesson,
    ):
        readers = Reader(mine), Reader(lesson)
        try:
            yield readers
        finally:
            for reader in readers:
                await reader.close()


async def test_a_tagged_drop_spares_the_untagged_tab(
    client: httpx.AsyncClient,
) -> None:
    async with pair(client) as (mine, lesson):
        await wait_open(client, 2)
        answer = (await client.post("/api/lab/drop", json={"tag": TAG})).json()
        assert answer == {"action": "drop", "subscriptions": 1, "tag": TAG}
        await lesson.until("the tagged stream ends", lambda: lesson.ended)
        assert lesson.ended == "eof"
        rows = await wait_open(client, 1)
        assert rows[0]["tag"] == ""  # the user's tab is still open
        # It still gets events: the lab's own report of the drop, with the tag.
        await mine.until(
            "the report reaches the untagged tab",
            lambda: any(e.type == "lab" for e in events_only(mine.items)),
        )
        report = next(e for e in events_only(mine.items) if e.type == "lab")
        assert json.loads(report.data)["detail"] == {"subscriptions": 1, "tag": TAG}
        assert mine.ended is None
    rows = await sent_rows(client)
    by_tag = {row["tag"]: row["ending"] for row in rows}
    assert by_tag == {TAG: "dropped", "": "gone"}


async def test_an_untagged_drop_still_reaches_everyone(
    client: httpx.AsyncClient,
) -> None:
    async with pair(client) as (mine, lesson):
        await wait_open(client, 2)
        answer = (await client.post("/api/lab/drop")).json()
        assert answer == {"action": "drop", "subscriptions": 2}  # no tag key
        await mine.until("both end", lambda: mine.ended and lesson.ended)
    assert {row["ending"] for row in await sent_rows(client)} == {"dropped"}


async def test_a_drop_for_another_tag_touches_neither(
    client: httpx.AsyncClient,
) -> None:
    async with pair(client) as (mine, lesson):
        await wait_open(client, 2)
        answer = (await client.post("/api/lab/cut", json={"tag": "other"})).json()
        assert answer["subscriptions"] == 0
        await asyncio.sleep(0.1)
        assert mine.ended is None and lesson.ended is None
        assert len(await open_streams(client)) == 2


async def test_a_tagged_cut_by_header_leaves_half_an_event(
    client: httpx.AsyncClient,
) -> None:
    async with (
        client.stream("GET", "/api/ticker?rate=50&count=100000") as mine,
        client.stream(
            "GET", "/api/ticker?rate=50&count=100000", headers={"X-Lab-Tag": TAG}
        ) as lesson,
    ):
        readers = Reader(mine), Reader(lesson)
        await wait_open(client, 2)
        await client.post("/api/lab/cut", json={"tag": TAG})
        await readers[1].until("the tagged one is cut", lambda: readers[1].ended)
        assert readers[1].ended == "error" and readers[1].parser.partial
        before = len(readers[0].items)
        await readers[0].until(
            "the untagged ticker goes on", lambda: len(readers[0].items) > before + 3
        )
        assert readers[0].ended is None
        for reader in readers:
            await reader.close()


async def test_a_tagged_stall_silences_only_the_tag(
    client: httpx.AsyncClient,
) -> None:
    async with pair(client) as (mine, lesson):
        await wait_open(client, 2)
        await mine.until("first stats", lambda: mine.items)
        await lesson.until("first stats", lambda: lesson.items)
        await client.post("/api/lab/stall", json={"seconds": 0.8, "tag": TAG})
        await asyncio.sleep(0.05)  # what was under way when it stalled
        mine_n, lesson_n = len(mine.items), len(lesson.items)
        await asyncio.sleep(0.6)  # stats every 0.2 s, pings every 0.2 s
        assert len(lesson.items) == lesson_n, "the tagged stream was not silent"
        assert len(mine.items) >= mine_n + 2, "the untagged tab was silenced"


async def test_tagged_refusals_are_taken_by_tagged_connects_only(
    client: httpx.AsyncClient,
) -> None:
    body = {"count": 2, "status": 503, "retry_after_s": 7, "tag": TAG}
    await client.post("/api/lab/refuse", json=body)
    # Other tabs connecting meanwhile take none of the lesson's refusals.
    for _ in range(3):
        async with client.stream("GET", "/api/events") as r:
            assert r.status_code == 200
    state = (await client.get("/api/lab")).json()
    assert state["refuse_left"] == 0
    assert state["tags"][TAG]["refuse_left"] == 2
    answers = []
    for _ in range(3):
        r = await client.get(
            "/api/ticker", params={"count": 1, "rate": 0, "lab_tag": TAG}
        )
        answers.append((r.status_code, r.headers.get("retry-after")))
    assert answers == [(503, "7"), (503, "7"), (200, None)]


async def test_untagged_refusals_still_reach_tagged_connects(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/api/lab/refuse", json={"count": 1, "status": 204})
    r = await client.get("/api/ticker", params={"count": 1, "rate": 0, "lab_tag": TAG})
    assert r.status_code == 204  # the dock's refuse acts on everyone, as before


async def test_tagged_retry_and_encoding_apply_to_the_tag_only(
    client: httpx.AsyncClient,
) -> None:
    async with pair(client) as (mine, lesson):
        await wait_open(client, 2)
        answer = await client.post("/api/lab/retry", json={"ms": 777, "tag": TAG})
        assert answer.json()["subscriptions"] == 1
        await lesson.until(
            "retry: 777 on the tagged stream",
            lambda: any(i.retry == 777 for i in lesson.items),
        )
        await asyncio.sleep(0.1)
        assert not any(i.retry == 777 for i in mine.items)
    await client.post("/api/lab/encoding", json={"mode": "gzip", "tag": TAG})
    async with client.stream("GET", "/api/ticker?rate=0&count=5&size=10") as r:
        assert "content-encoding" not in r.headers
        plain = Parser().feed(b"".join([c async for c in r.aiter_raw()]))
    assert [i.retry for i in plain if i.kind == "retry"] == [20]  # the server's
    tagged = f"/api/ticker?rate=0&count=5&size=10&lab_tag={TAG}"
    async with client.stream("GET", tagged) as r:
        assert r.headers["content-encoding"] == "gzip"
        raw = b"".join([c async for c in r.aiter_raw()])
    items = Parser().feed(gzip.decompress(raw))
    assert [i.retry for i in items if i.kind == "retry"] == [777]
    assert [e.id for e in events_only(items)] == [str(i) for i in range(5)]


async def test_tagged_reset_id_and_omit_end(client: httpx.AsyncClient) -> None:
    async with pair(client) as (mine, lesson):
        await wait_open(client, 2)
        await client.post("/api/lab/reset-id", json={"tag": TAG})
        await lesson.until(
            "the empty id on the tagged stream",
            lambda: any(e.id == "" for e in events_only(lesson.items)),
        )
        await asyncio.sleep(0.1)
        assert not any(e.id == "" for e in events_only(mine.items))
    await client.post("/api/lab/omit-end", json={"count": 1, "tag": TAG})
    job = {"kind": "countdown", "params": {"steps": 1, "interval_s": 0}}
    plain = (await client.post("/api/jobs", json=job)).json()["id"]
    tagged = (
        await client.post("/api/jobs", json=job, headers={"X-Lab-Tag": TAG})
    ).json()["id"]
    stories = {}
    for job_id in (plain, tagged):
        async with client.stream("GET", f"/api/jobs/{job_id}/events") as r:
            stories[job_id] = [
                e.type for e in events_only([i async for i in items_of(r)])
            ]
    assert stories[plain][-1] == "end"  # an untagged job keeps its end
    assert "end" not in stories[tagged]
    state = (await client.get("/api/lab")).json()
    assert state["omit_end_next"] == 0 and state["tags"][TAG]["omit_end_next"] == 0


async def test_tagged_reset_clears_only_that_tag(client: httpx.AsyncClient) -> None:
    await client.post("/api/lab/refuse", json={"count": 3})
    await client.post("/api/lab/refuse", json={"count": 3, "tag": TAG})
    await client.post("/api/lab/retry", json={"ms": 300, "tag": "other"})
    answer = (await client.post("/api/lab/reset", json={"tag": TAG})).json()
    assert answer == {"action": "reset", "tag": TAG}
    state = (await client.get("/api/lab")).json()
    assert state["refuse_left"] == 3 and set(state["tags"]) == {"other"}
    await client.post("/api/lab/reset")
    state = (await client.get("/api/lab")).json()
    assert state["refuse_left"] == 0 and state["tags"] == {}


async def test_sent_reports_and_filters_by_tag(client: httpx.AsyncClient) -> None:
    async with pair(client):
        rows = await wait_open(client, 2)
        assert sorted(str(row["tag"]) for row in rows) == ["", TAG]
    tagged = await sent_rows(client, tag=TAG)
    assert [row["tag"] for row in tagged] == [TAG]
    assert str(tagged[0]["path"]).endswith(f"lab_tag={TAG}")
    assert {row["tag"] for row in await sent_rows(client)} == {"", TAG}


async def test_bad_tags_are_refused_with_a_reason(client: httpx.AsyncClient) -> None:
    bad = "no spaces allowed"
    r = await client.get("/api/events", params={"lab_tag": bad})
    assert r.status_code == 422 and "lab_tag" in r.text
    r = await client.get("/api/ticker", headers={"X-Lab-Tag": "x" * 65})
    assert r.status_code == 422 and "X-Lab-Tag".lower() in r.text.lower()
    r = await client.post("/api/lab/drop", json={"tag": bad})
    assert r.status_code == 422 and "tag" in r.text
    assert (await client.get("/api/lab")).json()["tags"] == {}


def test_tag_switches_fall_back_and_stay_bounded() -> None:
    lab = LabState(refuse_left=1, refuse_with=204, retry_ms=90, encoding="gzip")
    own = lab.switches("a")
    own.refuse_left, own.retry_after_s = 1, 3
    # A tagged connect takes its own refusal first, then the untagged one.
    assert lab.take_refusal("a") == (503, 3)
    assert lab.take_refusal("a") == (204, 5)
    assert lab.take_refusal("a") is None and lab.take_refusal() is None
    assert lab.retry_for("a") == 90  # nothing of its own: the untagged retry
    own.retry_ms, own.encoding = 10, "identity"
    assert (lab.retry_for("a"), lab.retry_for("b"), lab.retry_for()) == (10, 90, 90)
    assert lab.encoder("a").content_encoding is None
    assert lab.encoder("b").content_encoding == "gzip"
    assert not lab.take_omit_end("a")
    own.omit_end_next = 1
    assert not lab.take_omit_end("") and lab.take_omit_end("a")
    assert not lab.take_omit_end("a")
    for n in range(MAX_TAGS + 10):
        lab.switches(f"t{n}")
    assert len(lab.tags) == MAX_TAGS and "a" not in lab.tags  # the oldest went
    lab.reset()
    assert lab.tags == {} and lab.encoding == "identity" and lab.retry_ms is None
