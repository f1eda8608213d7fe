"""Lesson tests: the real bundled server child, restartable on the same port.

The server is the `ServerChild` the app starts (Qt-free), with short retry and
pings so that lessons run in a second or two; a lesson runs with ``asyncio.run``
on its own httpx client through `TestLab`, a LabContext like the app's.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.lessons import Timing
from desktop.ui.lab_context import AppLabContext, restart_child
from tests.children import start_child, stop_child

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from desktop.core.lessons import LabContext, LessonResult
    from desktop.core.records import Record
    from desktop.ui.server_child import ServerChild

SERVER_ARGS = ("--retry", "50", "--ping", "0.2")


@pytest.fixture(scope="session")
def lab_server() -> Iterator[ServerChild]:
    child = start_child(SERVER_ARGS)
    yield child
    stop_child(child)


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
) -> tuple[LessonResult, Feed]:
    """Run one lesson against ``child`` with the app's LabContext and fast timings."""
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
