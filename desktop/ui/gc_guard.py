"""Garbage collection on the GUI thread only.

Python's cyclic collector runs on whichever thread's allocation crosses its
threshold.  A Qt object owned by Python that sits in a reference cycle (a
controller and its timer, a closed tab's helpers, asyncio's loop objects) is
then deleted on that thread: the server child's output pumps, the keychain's
worker, asyncio's resolver threads.  Qt cannot stop timers or drop events from
another thread, leaves them registered to the deleted object, and the next event
processing on the GUI thread crashed (a segfault, no traceback).

So automatic collection is switched off and a GUI-thread timer collects instead,
generation by generation, by the collector's own thresholds: the same work, only
on the thread that owns every Qt object.  Unreachable cycles live at most one
tick longer; plain garbage (records, reads) is still freed by reference counting
at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import platform
import threading

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

INTERVAL_MS = 250

_installed: GuiCollector | None = None


class GuiCollector(QObject):
    """Owns collection while installed: ``gc`` is disabled, ``check`` collects."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds."""
        young, middle, old = gc.get_count()
        first, second, third = self.thresholds
        if young <= first:
            return
        generation = 0
        if middle > second:
            generation = 2 if old > third else 1
        gc.collect(generation)

    def collect_all(self) -> None:
        """Delete what was deleteLater'd, then collect everything (tests, shutdown)."""
        assert threading.current_thread() is threading.main_thread(), "GUI thread only"
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        gc.collect()


def give_back() -> bool:
    """Collect everything, then hand the allocator's free pages back to the system
    where it can (glibc's ``malloc_trim``); whether it could.

    A closed tab of a fast stream frees its rows to the allocator, which on glibc
    keeps the pages for the process: RSS stayed at its peak without this.
    """
    assert threading.current_thread() is threading.main_thread(), "GUI thread only"
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def _libc() -> ctypes.CDLL | None:
    if platform.libc_ver()[0] != "glibc":
        return None  # musl, macOS, Windows: no malloc_trim
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def install(app: QCoreApplication) -> GuiCollector:
    """Switch to GUI-thread collection for this process (once; later calls reuse it)."""
    global _installed
    if _installed is None:
        _installed = GuiCollector(app)
    return _installed


def installed() -> GuiCollector | None:
    return _installed


__all__ = ["INTERVAL_MS", "GuiCollector", "give_back", "install", "installed"]
