"""Qt objects die on the GUI thread: the loop leaves no timer, threads never collect.

Both guard a crash seen in the full suite: a Qt object in a reference cycle,
freed by a collection that a server thread started, left its timers registered
and the next event processing on the GUI thread segfaulted.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractEventDispatcher, QObject

from desktop.ui import gc_guard
from desktop.ui.loop import AppLoop

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication


def test_a_closed_loop_leaves_no_qt_timer_registered(qapp: QApplication) -> None:
    loop = AppLoop(qapp)
    asyncio.set_event_loop(loop)
    try:

        async def short() -> None:
            # wait_for's 30 s timer is cancelled, but qasync keeps it registered
            await asyncio.wait_for(asyncio.sleep(0.01), 30)
            loop.call_later(60, lambda: None)

        loop.run_until_complete(short())
        timer = loop._timer
        dispatcher = QAbstractEventDispatcher.instance()
        assert dispatcher is not None
        assert dispatcher.registeredTimers(timer)  # the leftovers the fix handles
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert dispatcher.registeredTimers(timer) == []


def test_collection_happens_on_the_gui_thread_only(qapp: QApplication) -> None:
    collector = gc_guard.installed()
    assert collector is not None  # tests/conftest.py installs it, as app.py does
    assert not gc.isenabled()  # no thread's allocation starts a collection
    freed_on: list[str] = []

    class Cyclic(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.me = self
            self.startTimer(60_000)
            self.destroyed.connect(
                lambda: freed_on.append(threading.current_thread().name)
            )

    Cyclic()

    def allocate() -> None:  # far past every threshold, on another thread
        for _ in range(20):
            [[] for _ in range(10_000)]

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert freed_on == []  # the worker collected nothing
    thresholds = collector.thresholds
    collector.thresholds = (0, 0, 0)  # this check collects every generation
    try:
        collector.check()
    finally:
        collector.thresholds = thresholds
    assert freed_on == [threading.main_thread().name]
