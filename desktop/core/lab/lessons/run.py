"""One lesson's run: its recorded streams, its checklist, and the cleanup it owes.

`RecordedStream` runs our engine (`EventStream`) in a task of its own and keeps
every record, so a lesson can wait for "the next Open" and later check timings
from the records' ``at``/``wall``; the Lab draws each as a lane named after it
(``app``, ``naive``).  `LessonRun` owns the streams and the checklist;
`lesson_runner` wraps a lesson body so that it always ends in a `LessonResult`
(a failure is a failed check, never a traceback) and always cleans up: streams
stopped, sockets closed, the lab reset, even when the run is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, TypeVar

import httpx

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Closed, Connecting, Reconnecting
from desktop.core.engine.stream import EventStream
from desktop.core.jobs import JobsClient
from desktop.core.lab.client import LAB_TAG_HEADER, LabError, new_tag, tagged_url
from desktop.core.lab.lessons.base import Check, LessonResult

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from desktop.core.engine.records import Record
    from desktop.core.lab.client import Published, SentLog
    from desktop.core.lab.lessons.base import LabContext, Timing

R = TypeVar("R")
_CLEANUP_S = 3.0  # bound on the lab reset after a run (the server may be gone)


class LessonStepError(Exception):
    """A step of a lesson could not happen (nothing arrived in time …)."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.message = message


class RecordedStream:
    """Our engine on one URL; its records, in order, as they arrived."""

    def __init__(
        self,
        ctx: LabContext,
        name: str,
        options: StreamOptions,
        watch: Callable[[list[Record]], None] | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self.watch = watch  # sees every batch as it arrives (e.g. the app's Advisor)
        self.records: list[Record] = []
        self._ctx = ctx
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def ended(self) -> bool:
        return self._task is not None and self._task.done()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            async with EventStream(self.options, client=self._ctx.client) as stream:
                async for batch in stream.batches():
                    self.records.extend(batch)
                    self._ctx.on_records(self.name, batch)
                    if self.watch is not None:
                        self.watch(batch)
                    self._changed.set()
        finally:
            self._changed.set()

    async def stop(self) -> None:
        """Cancel the engine and wait until its socket is closed."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def wait(
        self,
        kind: type[R],
        what: str,
        limit_s: float,
        *,
        after: int = 0,
        where: Callable[[R], bool] | None = None,
    ) -> tuple[int, R]:
        """The first record of ``kind`` at index >= ``after`` (and ``where``)."""
        deadline = time.monotonic() + limit_s
        index = after
        while True:
            for i in range(index, len(self.records)):
                record = self.records[i]
                if isinstance(record, kind) and (where is None or where(record)):
                    return i, record
            index = len(self.records)
            if self._task is None or self._task.done():
                ended = self._closed_reason()
                raise LessonStepError(what, f"the stream ended first ({ended})")
            self._changed.clear()
            remaining = deadline - time.monotonic()
            try:
                async with asyncio.timeout(max(0.0, remaining)):
                    await self._changed.wait()
            except TimeoutError:
                raise LessonStepError(what, f"nothing within {limit_s:.1f} s") from None

    def _closed_reason(self) -> str:
        for record in reversed(self.records):
            if isinstance(record, Closed):
                return record.reason
        return "no Closed record"

    def of(self, kind: type[R], after: int = 0) -> list[R]:
        return [r for r in self.records[after:] if isinstance(r, kind)]

    def waited_ms(self, reconnecting_index: int) -> float | None:
        """The delay actually waited after the Reconnecting at that index."""
        gap = self.records[reconnecting_index]
        assert isinstance(gap, Reconnecting)
        for record in self.records[reconnecting_index + 1 :]:
            if isinstance(record, Connecting):
                return (record.at - gap.at) * 1000
        return None


class LessonRun:
    """The state of one run: streams, checklist, server data; closed once.

    A run has a fresh lab tag: its streams carry it (``?lab_tag=``), its jobs
    are started with it and its faults are sent with it (``self.lab`` is the
    context's LabClient scoped to it), so the lesson breaks only its own streams
    and leaves the app's other tabs on the same server alone.
    """

    def __init__(
        self,
        ctx: LabContext,
        key: str,
        app_options: Mapping[str, object] | None = None,
    ) -> None:
        self.ctx = ctx
        self.key = key
        self.app_options = dict(app_options or {})  # a variant of our engine (tests)
        self.timing: Timing = ctx.timing
        self.tag = new_tag(f"lesson-{key}")
        self.lab = ctx.lab.with_tag(self.tag)
        self.checks: list[Check] = []
        self.streams: dict[str, RecordedStream] = {}
        # Lanes a lesson draws from other sources than our engine (a browser's
        # reports, as records): shown live and kept in the result like streams.
        self.drawn: dict[str, list[Record]] = {}
        self.published: list[Published] = []
        self.sent: list[SentLog] = []
        self.started = time.time()

    def url(self, path: str, base_url: str | None = None) -> str:
        """The server URL of ``path``, carrying this run's lab tag.

        ``base_url``: a server of the lesson's own instead of the context's.
        """
        base = base_url if base_url is not None else self.ctx.base_url
        return tagged_url(base.rstrip("/") + path, self.tag)

    def jobs(self) -> JobsClient:
        """The jobs API, starting jobs with this run's tag (a tagged omit-end)."""
        return JobsClient(
            self.ctx.base_url,
            headers=((LAB_TAG_HEADER, self.tag),),
            client=self.ctx.client,
        )

    def lane(
        self,
        name: str,
        path: str,
        **options: object,
    ) -> RecordedStream:
        """Start our engine on ``path`` as lane ``name``.

        Its task runs from the next await on: set ``lane.watch`` before that.
        """
        return self.lane_at(self.ctx.base_url, name, path, **options)

    def lane_at(
        self, base_url: str, name: str, path: str, **options: object
    ) -> RecordedStream:
        """`lane` on a server of the lesson's own (``base_url``)."""
        if name == "app":
            options = {**options, **self.app_options}
        engine = StreamOptions(self.url(path, base_url), **options)  # type: ignore[arg-type]
        lane = RecordedStream(self.ctx, name, engine)
        self.streams[name] = lane
        lane.start()
        return lane

    def draw(self, name: str, batch: list[Record]) -> None:
        """Show ``batch`` on lane ``name`` and keep it in the result."""
        self.drawn.setdefault(name, []).extend(batch)
        self.ctx.on_records(name, batch)

    def check(self, label: str, expected: str, observed: str, ok: bool) -> bool:
        self.checks.append(Check(label, expected, observed, ok))
        return ok

    async def pause(self, seconds: float | None = None) -> None:
        await asyncio.sleep(self.timing.settle_s if seconds is None else seconds)

    async def close(self) -> None:
        for lane in self.streams.values():
            await lane.stop()
        # Free this run's switches on the server (the untagged ones were never
        # touched); a dead server is not an error here.
        with contextlib.suppress(LabError, httpx.HTTPError, TimeoutError):
            async with asyncio.timeout(_CLEANUP_S):
                await self.lab.reset()

    def result(self) -> LessonResult:
        return LessonResult(
            self.key,
            list(self.checks),
            {
                **{name: list(lane.records) for name, lane in self.streams.items()},
                **{name: list(records) for name, records in self.drawn.items()},
            },
            list(self.published),
            list(self.sent),
            self.started,
            time.time(),
        )


def http_problem(exc: httpx.HTTPError) -> str:
    """One readable sentence for an HTTP failure talking to the lab."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return f"cannot connect to the server ({exc.__class__.__name__})"
    if isinstance(exc, httpx.HTTPStatusError):
        return (
            f"the server answered {exc.response.status_code} to {exc.request.url.path}"
        )
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__


def lesson_runner(
    key: str,
    body: Callable[[LessonRun], Awaitable[None]],
    app_options: Mapping[str, object] | None = None,
) -> Callable[[LabContext], Awaitable[LessonResult]]:
    """Wrap a lesson body: a fresh tag, clean up always, fail as a check.

    ``app_options`` change the "app" lane's engine options, e.g. a naive client
    (``send_last_event_id=False``) to see the checklist catch what it loses.
    """

    async def run(ctx: LabContext) -> LessonResult:
        lesson = LessonRun(ctx, key, app_options or {})
        try:
            await lesson.lab.reset()  # its own tag only: the user's switches stay
            await body(lesson)
        except LessonStepError as exc:
            lesson.check(f"Step: {exc.step}", "happens", exc.message, False)
        except LabError as exc:
            lesson.check("The lab answers", "lab routes work", exc.message, False)
        except httpx.HTTPError as exc:
            lesson.check("The server answers", "HTTP works", http_problem(exc), False)
        except Exception as exc:  # the host's parts (a restart …) may raise anything
            # A learner gets a checklist line naming the failure, not a traceback.
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            lesson.check("The lesson runs", "no error", text, False)
        finally:
            await lesson.close()
        return lesson.result()

    return run
