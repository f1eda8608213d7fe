"""Suite-wide set-up: offscreen Qt, and asyncio's logged leaks fail the test."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

import pytest

# Qt aborts trying xcb without a display: choose offscreen before any QApplication.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QApplication

# asyncio reports these through logging, not warnings, so filterwarnings=error
# does not see them.
_LEAK_MARKERS = (
    "Task was destroyed but it is pending",
    "unclosed transport",
    "Unclosed",
    "unclosed",
    "Task exception was never retrieved",
    "Future exception was never retrieved",
    "an error occurred during closing of asynchronous generator",
    "asynchronous generator",
    # e.g. "Cannot enter into task": Qt events processed inside a task step ran
    # another task's step, which then never wakes up again (a hang, later).
    "Exception in callback",
)


class _LeakCatcher(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if any(marker in message for marker in _LEAK_MARKERS):
            self.records.append(record)


@pytest.fixture(autouse=True)
def _fail_on_asyncio_leaks() -> Iterator[None]:
    catcher = _LeakCatcher()
    logger = logging.getLogger("asyncio")
    logger.addHandler(catcher)
    try:
        yield
    finally:
        logger.removeHandler(catcher)
    if catcher.records:
        lines = "\n".join(r.getMessage()[:500] for r in catcher.records)
        pytest.fail(f"asyncio logged leaks during the test:\n{lines}")


@pytest.fixture(autouse=True)
def _settings_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test gets its own settings file: none reads or writes the user's."""
    directory = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("SSE_VIEWER_CONFIG_DIR", str(directory))


@pytest.fixture(scope="session")
def qapp(qapp: QApplication) -> QApplication:
    """pytest-qt's application, collecting garbage on the GUI thread as the app does.

    Without it a Qt object left in a reference cycle by one test was freed by a
    collection that started on some thread of a later test (a uvicorn server, a
    server child's output pump): Qt cannot stop timers from there, and the next
    event processing crashed (desktop/ui/gc_guard.py).
    """
    from desktop.ui import gc_guard

    gc_guard.install(qapp)
    return qapp


@pytest.fixture(autouse=True)
def _qt_garbage_dies_on_the_gui_thread(
    request: pytest.FixtureRequest,
) -> Iterator[None]:
    """After a Qt test, what it left is freed here, not during a later test;
    other tests get the collector's usual threshold check (it is off otherwise)."""
    yield
    guard = sys.modules.get("desktop.ui.gc_guard")
    collector = guard.installed() if guard is not None else None
    if collector is None:
        return
    if "qapp" in request.fixturenames:
        collector.collect_all()
    else:
        collector.check()
