"""Running one lesson from a test with the app's LabContext; its checklist as text."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

from desktop.core.lab.lessons.catalog import Timing, lesson
from desktop.ui.lab.context import AppLabContext, restart_child, serve_child

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from desktop.core.engine.records import Record
    from desktop.core.lab.lessons.catalog import LabContext, Lesson, LessonResult
    from desktop.ui.server_child import ServerChild


def lesson_named(key: str) -> Lesson:
    """The catalog's lesson with that key (tests name lessons, never index them)."""
    found = lesson(key)
    assert found is not None, f"no lesson {key!r}"
    return found


class Feed:
    """What the lanes view would get: every batch, per lane."""

    def __init__(self) -> None:
        self.batches: dict[str, int] = {}

    def __call__(self, lane: str, batch: list[Record]) -> None:
        self.batches[lane] = self.batches.get(lane, 0) + 1


def run_lesson(
    child: ServerChild,
    run: Callable[[LabContext], Awaitable[LessonResult]],
    timing: Timing | None = None,
    *,
    base_url: str | None = None,
    open_page: Callable[[str], bool] | None = None,
) -> tuple[LessonResult, Feed]:
    """Run one lesson against ``child`` with the app's LabContext and fast timings.

    The context switches ``child``'s protocol as the app does its own (serve_child);
    ``open_page`` is the browser a page-opening lesson gets (chromium.Pages).
    """
    assert child.url is not None
    feed = Feed()

    async def main() -> LessonResult:
        async with httpx.AsyncClient() as client:
            ctx = AppLabContext(
                base_url or str(child.url),
                client,
                lambda: restart_child(child),
                feed,
                timing or Timing.fast(),
                serve=lambda protocol: serve_child(child, protocol),
                open_page=open_page,
            )
            return await run(ctx)

    return asyncio.run(main()), feed


def table(result: LessonResult) -> str:
    """The checklist as text, for assertion messages and the report."""
    return "\n".join(
        f"  {'✓' if c.ok else '✗'} {c.label} | expected: {c.expected} | "
        f"observed: {c.observed}"
        for c in result.checks
    )
