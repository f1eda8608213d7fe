"""A fresh qasync loop per test on pytest-qt's ``qapp``.

The body of the ``loop`` fixtures of tests/ui and tests/lab: the app's theme is
applied once, the loop is the app's own `AppLoop`, closed after the test.  Why a
fresh loop and ``run_until_complete``: CONTRIBUTING.md, "Qt stack facts".
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from desktop.ui import theme
from desktop.ui.loop import AppLoop

if TYPE_CHECKING:
    from collections.abc import Iterator

    from PySide6.QtWidgets import QApplication


def app_loop(qapp: QApplication) -> Iterator[AppLoop]:
    qapp.setQuitOnLastWindowClosed(False)
    if not qapp.property("themed"):
        theme.apply(qapp)
        qapp.setProperty("themed", True)
    event_loop = AppLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.run_until_complete(event_loop.shutdown_asyncgens())
    event_loop.close()
    asyncio.set_event_loop(None)
