"""Guided lessons run from the Lab dock, with their lanes drawn live.

`LessonRunner` owns the lesson in progress: it builds the app's LabContext,
runs the lesson in a task the stream controller owns (so shutdown cancels it),
feeds the lesson's records into lanes while it runs, and hands the result to
the lessons panel.  Cancel from the panel cancels the task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from desktop.core.lab.lanes import LaneBuilder

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    import httpx

    from desktop.core.engine.records import Record
    from desktop.core.lab.lanes import Lane
    from desktop.core.lab.lessons.catalog import LessonResult, Timing
    from desktop.core.serving import Served
    from desktop.ui.lab.lessons_panel import LessonsPanel

log = logging.getLogger(__name__)
LANE_TITLES = {
    "app": "app (our client)",
    "naive": "naive client (no Last-Event-ID)",
    "per-worker": "app, one log per worker",
}


class LessonRunner:
    """One lesson at a time, on the lab's server, its lanes kept apart."""

    def __init__(
        self,
        panel: LessonsPanel,
        client: Callable[[], httpx.AsyncClient],
        restart: Callable[[], Awaitable[None]] | None,
        spawn: Callable[[Coroutine[object, object, None]], asyncio.Task[None]],
        started: Callable[[str], None],
        serve: Callable[[str], Awaitable[Served]] | None = None,
        open_page: Callable[[str], bool] | None = None,
    ) -> None:
        self.panel = panel
        self.client = client
        self.restart = restart
        self.spawn = spawn
        self.started = started  # tells the lab which lesson's lanes it shows
        self.serve = serve  # restarts the bundled server speaking a protocol
        self.open_page = open_page  # a lesson's page in the user's browser
        self.base: str | None = None  # the lab's server, None while unavailable
        self.timing: Timing | None = None  # None: the human timings
        self.lanes: dict[str, LaneBuilder] | None = None  # None: no lesson shown
        self.result: LessonResult | None = None
        self.task: asyncio.Task[None] | None = None
        self.ended_at: float | None = None  # wall clock: its lanes stop there
        self.all_keys: tuple[str, ...] | None = None  # "Run all": None is every one
        panel.runRequested.connect(self.run)
        panel.runAllRequested.connect(self.run_all)
        panel.cancelRequested.connect(self.cancel)

    def shown_lanes(self) -> list[Lane] | None:
        if self.lanes is None:
            return None
        return [builder.lane for builder in self.lanes.values()]

    def forget(self) -> None:
        """Back to the stream in front (the lesson's result stays in the panel)."""
        self.lanes = None

    def records(self, lane: str, batch: list[Record]) -> None:
        """A lesson's live feed (LabContext.on_records)."""
        if self.lanes is None:
            self.lanes = {}
        builder = self.lanes.get(lane)
        if builder is None:
            builder = LaneBuilder(lane, LANE_TITLES.get(lane, lane))
            self.lanes[lane] = builder
        builder.feed(batch)

    def run(self, key: str) -> None:
        if self.task is not None and not self.task.done():
            return
        self.task = self.spawn(self._run(key))

    def run_all(self) -> None:
        """Every lesson in turn on the bundled server, then one summary line."""
        if self.task is not None and not self.task.done():
            return
        self.task = self.spawn(self._run_all())

    async def _run_all(self) -> None:
        from desktop.core.lab.lessons.catalog import LESSONS

        panel = self.panel
        keys = self.all_keys
        chosen = [x for x in LESSONS if keys is None or x.key in keys]
        panel.show_summary(f"Running all {len(chosen)} lessons…")
        for item in chosen:
            await self._run(item.key)
        passed = [
            x for x in chosen if x.key in panel.results and panel.results[x.key].passed
        ]
        failed = [x for x in chosen if x not in passed]
        text = f"All lessons: {len(passed)} of {len(chosen)} passed"
        if failed:
            text += " · not passed: " + "; ".join(
                f"{x.number} ({_why_not(panel, x.key)})" for x in failed
            )
        panel.show_summary(text + ".")

    def cancel(self, key: str) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            self.panel.show_error(key, "Cancelled.")

    async def _run(self, key: str) -> None:
        from desktop.core.lab.lessons.catalog import lesson as lesson_of
        from desktop.ui.lab.context import AppLabContext

        panel = self.panel
        lesson = lesson_of(key)
        if lesson is None:
            panel.show_error(key, f"There is no lesson {key!r}.")
            return
        if self.base is None:
            panel.show_error(
                key, "Lessons need the bundled server's lab: open a stream on it first."
            )
            return
        self.lanes = None
        self.ended_at = None
        self.records("app", [])
        self.started(f"lesson {lesson.number}, {lesson.title}")
        context = AppLabContext(
            self.base,
            self.client(),
            self._restart,
            self.records,
            self.timing,
            serve=self.serve,
            open_page=self.open_page,
        )
        panel.show_running(key)
        try:
            result = await lesson.run(context)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a lesson bug: shown on its line, logged in full
            log.exception("lesson %s crashed", key)
            panel.show_error(key, f"{type(exc).__name__}: {exc}")
            return
        finally:
            self.ended_at = time.time()
        self.result = result
        panel.show_result(result)

    async def _restart(self) -> None:
        if self.restart is None:
            raise RuntimeError("only the app's bundled server can be restarted")
        await self.restart()


def _why_not(panel: LessonsPanel, key: str) -> str:
    """The error, or the first failed check with what was observed."""
    result = panel.results.get(key)
    if result is None:
        return panel.errors.get(key, "not run")
    check = next((c for c in result.checks if not c.ok), None)
    return "failed" if check is None else f"{check.label}: {check.observed}"
