"""``sse-viewer mock`` for tests and benchmarks: recordings the engine makes of the
bundled server, saved as the app saves them, and the mock run as a child process
(``python -m desktop.cli mock``, with this checkout first on its path)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.engine.records import Event, Open
from desktop.core.files.recording import header_for, save_recording
from server.jobs import EVENTS_TOPIC

from stream_checks import collect, options, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from desktop.core.engine.options import StreamOptions
    from desktop.core.engine.records import Record

    from liveserver import LiveServer

ROOT = Path(__file__).resolve().parents[1]
# Seconds between the published events: varied, ~1 s in all.
GAPS = (0.05, 0.12, 0.2, 0.08, 0.15, 0.06, 0.18, 0.1)
TYPES = ("note", "message", "progress")
LAST = "last"  # the type of the event that ends a recording


async def _publish(live: LiveServer, type_: str, data: str) -> None:
    assert live.loop is not None
    future = asyncio.run_coroutine_threadsafe(
        live.rt.broker.publish(EVENTS_TOPIC, type_, data), live.loop
    )
    await asyncio.wrap_future(future)


async def record_published(
    live: LiveServer, gaps: Sequence[float] = GAPS
) -> tuple[StreamOptions, list[Record]]:
    """The engine's records (raw reads too) of ``/api/events`` while events are
    published ``gaps`` apart, up to the `LAST` one."""
    opts = options(f"{live.url}/api/events", raw=True)

    async def publish() -> None:
        assert await wait_until(lambda: len(live.rt.hub) > 0, timeout=5)
        for i, gap in enumerate(gaps):
            await asyncio.sleep(gap)
            await _publish(live, TYPES[i % len(TYPES)], json.dumps({"i": i}))
        await asyncio.sleep(gaps[0])
        await _publish(live, LAST, "{}")

    async with asyncio.TaskGroup() as group:
        group.create_task(publish())
        records = await collect(
            opts, stop=lambda r: isinstance(r, Event) and r.type == LAST
        )
    return opts, records


def save(
    path: Path, opts: StreamOptions, records: Sequence[Record], *, raw: bool
) -> Path:
    """Saved as File > Save recording saves (raw reads only with ``raw``)."""
    save_recording(path, header_for(opts, raw=raw), records)
    return path


def event_times(records: Sequence[Record]) -> list[float]:
    """Each event's receive time, in seconds after its connection opened."""
    opened = 0.0
    out = []
    for record in records:
        if isinstance(record, Open):
            opened = record.at
        elif isinstance(record, Event):
            out.append(record.at - opened)
    return out


def mock_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "desktop.cli", "mock", *args]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@contextlib.contextmanager
def mock_child(*args: str, timeout: float = 30) -> Iterator[str]:
    """Run ``sse-viewer mock ARGS``; the URL of its READY line."""
    proc = subprocess.Popen(
        mock_command(*args),
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield _ready(proc, timeout)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _ready(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.1):
                line = proc.stdout.readline()
                if line.startswith("READY "):
                    return line.split()[1]
                if not line:
                    break
    proc.kill()
    _out, err = proc.communicate()
    raise AssertionError(f"mock did not start: {err[-2000:]}")
