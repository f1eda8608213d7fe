"""Closing a tab gives its records back: objects and Python memory to the level
before the tab, and the allocator's free pages to the system where it can."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import tracemalloc
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent

from desktop.core.engine.records import Event
from desktop.ui import gc_guard
from desktop.ui.session import StreamSession

from app_driver import drive, open_stream, until

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _sessions() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is StreamSession)


def _events() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Event)


async def _settle() -> None:
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        await asyncio.sleep(0.05)
    gc.collect()


def test_closing_a_tab_releases_its_records(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    async def tab(rows: int) -> None:
        view = open_stream(viewer, f"{base}/api/ticker?rate=5000&size=64")
        session = view.handle.session
        await until(lambda: session.events >= rows, 20, f"{rows:,} events")
        viewer.controller.flush()
        view.bottom.setCurrentWidget(view.rate)  # the plot too
        view.refresh()

    async def scenario() -> None:
        await tab(100)  # imports and caches made once per process are not the tab's
        viewer.window.close_current()
        await _settle()
        sessions, events = _sessions(), _events()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await tab(20_000)
            grown = tracemalloc.get_traced_memory()[0] - before
            viewer.window.close_current()
            await _settle()
            assert _sessions() == sessions
            assert _events() <= events
            left = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown > 5_000_000  # 20,000 rows held while open
        assert left < grown / 10, f"{left:,} of {grown:,} bytes still held"
        rss = _rss()
        assert gc_guard.give_back() is (platform.libc_ver()[0] == "glibc")
        assert _rss() <= rss

    drive(loop, scenario(), viewer)
