"""A lesson breaks only its own streams: the user's tab on the same server lives on.

The user's tab is our engine on /api/events without a lab tag, open for the whole
run of lessons 1 (drop), 5 (503) and 6 (204) on the real bundled server child.
Before lab tags those lessons dropped it and answered its reconnect 503/204, so
it stopped for good; now it must see one connection, never dropped nor refused,
and the lessons must still pass.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Closed, Connecting, Event, Open, Reconnecting
from desktop.core.engine.stream import EventStream
from desktop.core.lab.client import EVENTS_TOPIC, LabClient
from desktop.core.lab.lessons.catalog import LESSONS, Timing
from desktop.ui.lab.context import AppLabContext, restart_child

from lesson_runs import table

if TYPE_CHECKING:
    from desktop.core.engine.records import Record
    from desktop.core.lab.client import SentLog
    from desktop.core.lab.lessons.catalog import LessonResult
    from desktop.ui.server_child import ServerChild

pytestmark = pytest.mark.timeout(120)

KEYS = ("drop", "503", "204")


async def _tab(
    url: str, client: httpx.AsyncClient, records: list[Record], opened: asyncio.Event
) -> None:
    async with EventStream(StreamOptions(url), client=client) as stream:
        async for batch in stream.batches():
            records.extend(batch)
            if any(isinstance(r, Open) for r in batch):
                opened.set()


def test_lessons_leave_an_untagged_tab_alone(lab_server: ServerChild) -> None:
    assert lab_server.url is not None
    base = str(lab_server.url)
    lessons = [lesson for lesson in LESSONS if lesson.key in KEYS]
    tab: list[Record] = []

    async def main() -> tuple[list[LessonResult], list[SentLog], dict[str, object]]:
        async with httpx.AsyncClient() as client:
            opened = asyncio.Event()
            task = asyncio.ensure_future(
                _tab(base + "/api/events", client, tab, opened)
            )
            try:
                async with asyncio.timeout(10):
                    await opened.wait()
                results = []
                for lesson in lessons:
                    ctx = AppLabContext(
                        base,
                        client,
                        lambda: restart_child(lab_server),
                        None,
                        Timing.fast(),
                    )
                    results.append(await lesson.run(ctx))
                await asyncio.sleep(0.3)  # a late drop or refusal would show by now
                # While the tab is still open: what the server says it did.
                lab = LabClient(base, client)
                sent = await lab.sent(EVENTS_TOPIC)
                state = await lab.state()
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            return results, sent, state

    results, sent, state = asyncio.run(main())
    for lesson, result in zip(lessons, results, strict=True):
        print(f"\nLesson {lesson.number} {lesson.title}:\n{table(result)}")
        assert result.passed, table(result)

    # The tab's own records: one connection, never ended, never retried.
    assert len([r for r in tab if isinstance(r, Connecting)]) == 1
    assert not [r for r in tab if isinstance(r, Reconnecting | Closed)]
    # It was live throughout: it heard each lesson's faults, all sent with a tag.
    reports = [
        json.loads(e.data) for e in tab if isinstance(e, Event) and e.type == "lab"
    ]
    faults = [r for r in reports if r["action"] in ("drop", "refuse")]
    assert len(faults) >= 2 * len(lessons)
    assert all(str(r["detail"].get("tag", "")).startswith("lesson-") for r in faults)

    # The server's side: the tab is the one open untagged subscription, never
    # dropped; every lesson subscription carried its lesson's tag.
    start = min(r.wall for r in tab if isinstance(r, Connecting))
    untagged = [log for log in sent if log.tag == "" and log.opened >= start - 0.5]
    assert [(log.ending, log.closed) for log in untagged] == [(None, None)]
    lesson_logs = [log for log in sent if log.tag and log.opened >= start]
    for key in KEYS:
        ours = [log for log in lesson_logs if log.tag.startswith(f"lesson-{key}-")]
        assert ours, f"no subscription tagged for lesson {key}"
        assert any(log.ending == "dropped" for log in ours)
    # Each run had a tag of its own, and freed its switches when it ended.
    assert len({log.tag for log in lesson_logs}) == len(KEYS)
    assert state["tags"] == {}
