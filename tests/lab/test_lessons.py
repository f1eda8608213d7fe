"""Every guided lesson against the real bundled server: passing checklists, and
checklists that fail when the client misbehaves (so the checks can fail)."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.lab.lessons import connection, status
from desktop.core.lab.lessons.catalog import LESSONS, Timing, numbered
from desktop.core.lab.lessons.run import lesson_runner
from desktop.ui.lab.context import AppLabContext, restart_child

from lesson_runs import lesson_named, run_lesson, table

if TYPE_CHECKING:
    from desktop.core.lab.lessons.catalog import LessonResult
    from desktop.ui.server_child import ServerChild

pytestmark = pytest.mark.timeout(90)


def lab_state(child: ServerChild) -> dict[str, object]:
    assert child.url is not None
    with urllib.request.urlopen(child.url + "/api/lab", timeout=5) as response:
        state: dict[str, object] = json.loads(response.read())
    return state


def check(result: LessonResult, label: str) -> bool:
    found = [c for c in result.checks if c.label == label]
    assert found, f"no check {label!r} in\n{table(result)}"
    return found[0].ok


def test_lessons_are_known_by_key_and_numbered_by_their_place() -> None:
    assert len(LESSONS) >= 10
    assert [lesson.number for lesson in LESSONS] == list(range(1, len(LESSONS) + 1))
    assert len({lesson.key for lesson in LESSONS}) == len(LESSONS)
    assert lesson_named("drop").number == 1 and lesson_named("bursts").number == 10
    # A lesson added in the middle renumbers the ones after it, by hand never.
    added = replace(LESSONS[0], key="new", number=0)
    again = numbered(*LESSONS[:3], added, *LESSONS[3:])
    assert [item.number for item in again] == list(range(1, len(LESSONS) + 2))
    assert again[3].key == "new" and again[4].key == LESSONS[3].key
    for lesson in LESSONS:
        lines = lesson.explanation.split("\n")
        assert len(lines) == 2, lesson.key
        assert "WHATWG HTML 9.2." in lines[0], lesson.key


# "six" needs a browser and both protocols: tests/lab/test_six_connections.py.
ENGINE_LESSONS = [lesson for lesson in LESSONS if lesson.key != "six"]


@pytest.mark.parametrize(
    "lesson", ENGINE_LESSONS, ids=[lesson.key for lesson in ENGINE_LESSONS]
)
def test_lesson_passes(lab_server: ServerChild, lesson: object) -> None:
    from desktop.core.lab.lessons.catalog import Lesson

    assert isinstance(lesson, Lesson)
    result, feed = run_lesson(lab_server, lesson.run)
    print(f"\nLesson {lesson.number} {lesson.title}:\n{table(result)}")
    assert result.passed, table(result)
    assert result.key == lesson.key
    for line in result.checks:  # words for people, not Python reprs
        assert "=True" not in line.observed and "=False" not in line.observed, line
    assert feed.batches.get("app", 0) > 0  # the lanes view saw the live records
    assert result.records["app"]
    assert result.ended > result.started
    # The lesson left the lab as it found it.
    state = lab_state(lab_server)
    assert state["refuse_left"] == 0 and state["encoding"] == "identity"
    assert state["tags"] == {}  # its tag's switches were freed


def test_naive_client_fails_the_resume_and_loses_events(
    lab_server: ServerChild,
) -> None:
    naive = lesson_runner("drop", connection.drop, {"send_last_event_id": False})
    result, _ = run_lesson(lab_server, naive)
    assert not result.passed
    assert not check(result, "The reconnect sends Last-Event-ID")
    assert not check(result, "The server received that Last-Event-ID")
    assert not check(result, "Nothing lost, repeated or reordered")
    assert check(result, "Waits the retry: time")  # the rest still held


def test_a_cut_with_a_naive_client_loses_the_resume(lab_server: ServerChild) -> None:
    naive = lesson_runner("cut", connection.cut, {"send_last_event_id": False})
    result, _ = run_lesson(lab_server, naive)
    assert not check(result, "The reconnect sends Last-Event-ID")
    assert check(result, "The partial event is discarded")


def test_without_a_read_timeout_the_stall_lesson_fails(
    lab_server: ServerChild,
) -> None:
    no_timeout = lesson_runner("stall", connection.stall, {"read_timeout": None})
    timing = Timing.fast()
    result, _ = run_lesson(lab_server, no_timeout, timing)
    assert not result.passed
    assert result.checks[-1].label == "Step: the read timeout", table(result)


def test_a_client_that_retries_503_fails_the_give_up_line(
    lab_server: ServerChild,
) -> None:
    eager = lesson_runner(
        "503", status.status_503, {"reconnect_on_status": frozenset({503})}
    )
    result, _ = run_lesson(lab_server, eager)
    assert not result.passed, table(result)
    # It did not close on the 503: the lesson waited for Closed in vain.
    assert not check(result, "Step: the answer 503"), table(result)


def test_a_lesson_without_a_server_is_a_failed_check(lab_server: ServerChild) -> None:
    result, _ = run_lesson(
        lab_server, lesson_named("drop").run, base_url="http://127.0.0.1:9"
    )
    assert not result.passed
    assert result.checks[0].label == "The lab answers"
    assert "cannot reach the server" in result.checks[0].observed


def test_a_cancelled_lesson_cleans_up(lab_server: ServerChild) -> None:
    assert lab_server.url is not None

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            ctx = AppLabContext(
                str(lab_server.url),
                client,
                lambda: restart_child(lab_server),
                None,
                Timing.fast(),
            )
            task = asyncio.ensure_future(lesson_named("retry").run(ctx))  # 1 s gap
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            streams = await client.get(str(lab_server.url) + "/api/streams")
            for _ in range(50):
                if streams.json()["count"] == 0:
                    break
                await asyncio.sleep(0.02)
                streams = await client.get(str(lab_server.url) + "/api/streams")
            assert streams.json()["count"] == 0

    asyncio.run(main())
    state = lab_state(lab_server)
    assert state["retry_ms"] == 50  # the lesson's retry: was reset


def test_a_restart_that_fails_is_a_failed_check(lab_server: ServerChild) -> None:
    assert lab_server.url is not None

    async def no_restart() -> None:
        raise RuntimeError("only the app's bundled server can be restarted")

    async def main() -> LessonResult:
        async with httpx.AsyncClient() as client:
            ctx = AppLabContext(
                str(lab_server.url), client, no_restart, None, Timing.fast()
            )
            return await lesson_named("restart").run(ctx)

    result = asyncio.run(main())
    assert not result.passed
    assert result.checks[-1].label == "The lesson runs"
    assert "bundled server can be restarted" in result.checks[-1].observed
    assert result.records["app"]  # it ran up to the restart, then cleaned up
