"""Ours versus the naive client across lab drops, judged against the published log.

Both run our engine on /api/events while the lab's pulse publishes every 10 ms and
the server drops every stream five times.  Ours resumes with Last-Event-ID and
loses nothing; the naive one (``send_last_event_id=False``) reconnects "live from
now" and loses what was published while it was away.  Losses are not assumed: they
come from comparing each client's events with `/api/lab/published`, and each lost
event must have been published during one of the naive client's own gaps.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Connecting, Event, Open, Reconnecting, Record
from desktop.core.engine.stream import EventStream
from desktop.core.lab.client import EVENTS_TOPIC, LabClient
from desktop.core.lab.continuity import check

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from liveserver import LiveServer

pytestmark = pytest.mark.anyio

DROPS = 5


async def follow(options: StreamOptions, into: list[Record]) -> None:
    async with EventStream(options) as stream:
        async for batch in stream.batches():
            into.extend(batch)


def opens(records: list[Record]) -> list[Open]:
    return [r for r in records if isinstance(r, Open)]


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1000):  # 5 s
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


async def test_ours_loses_nothing_the_naive_client_loses_its_gaps(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    lab = LabClient(live.url, client)
    url = f"{live.url}/api/events"
    ours: list[Record] = []
    naive: list[Record] = []
    await lab.retry(40)  # gaps of ~40 ms: ~4 pulses published in each
    tasks = [
        asyncio.create_task(follow(StreamOptions(url), ours)),
        asyncio.create_task(
            follow(StreamOptions(url, send_last_event_id=False), naive)
        ),
    ]
    try:
        await wait_until(lambda: bool(opens(ours) and opens(naive)), "both open")
        since = time.time()
        await lab.pulse(10)
        for n in range(DROPS):
            await asyncio.sleep(0.15)
            await lab.drop()
            both = n + 2
            await wait_until(
                lambda: len(opens(ours)) == len(opens(naive)) == both,  # noqa: B023
                f"both reopened after drop {n + 1}",
            )
        await asyncio.sleep(0.1)
        until = time.time()
        await asyncio.sleep(0.1)  # what was published before `until` has arrived
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    await lab.pulse(0)

    published, complete = await lab.published(EVENTS_TOPIC, since, until)
    assert complete and len([p for p in published if p.type == "pulse"]) > 50

    mine = check(published, [r for r in ours if isinstance(r, Event)])
    assert mine.ok, mine.summary()
    assert mine.received == len(published)
    assert all(-1 < ms < 1000 for ms in mine.latency_ms)

    theirs = check(published, [r for r in naive if isinstance(r, Event)])
    assert not theirs.repeated and not theirs.reordered
    assert len(theirs.lost) >= DROPS  # at least one per gap
    assert theirs.received + len(theirs.lost) == len(published)
    # Every lost event was published while the naive client was away: between the
    # end of a connection (Reconnecting, which follows the server's last write)
    # and the next Open (whose subscription starts live).
    gaps: list[tuple[float, float]] = []
    start: float | None = None
    for record in naive:
        if isinstance(record, Reconnecting):
            start = record.wall
        elif isinstance(record, Open) and start is not None:
            gaps.append((start, record.wall))
            start = None
    assert len(gaps) == DROPS
    when = {p.id: p.published for p in published}
    slack = 0.05  # the server closed a little before the client noticed
    for lost in theirs.lost:
        assert any(a - slack <= when[lost] <= b for a, b in gaps), lost
    losing_gaps = {
        i for i, (a, b) in enumerate(gaps) for lost in theirs.lost
        if a - slack <= when[lost] <= b
    }  # fmt: skip
    assert losing_gaps == set(range(DROPS))  # each gap lost something

    # The server's side agrees: ours carried the id it had, the naive one nothing.
    sent = await lab.sent(EVENTS_TOPIC)
    carried = [c.last_event_id for c in ours if isinstance(c, Connecting)]
    assert carried[0] == "" and all(carried[1:])
    naive_carried = {c.last_event_id for c in naive if isinstance(c, Connecting)}
    assert naive_carried == {""}
    server_saw = {log.last_event_id for log in sent}
    assert set(carried[1:]) <= server_saw
    assert [log.ending for log in sent].count("dropped") == 2 * DROPS
