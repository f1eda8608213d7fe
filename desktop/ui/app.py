"""``run()``: the bundled server child first, then QApplication, loop and window.

This module imports only the standard library at the top: ``run()`` spawns the
server child before Qt is even imported, so the server's start-up overlaps the
GUI's and the first event arrives sooner.  The loop lives in ``loop.py`` and the
composition in ``viewer.py``.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from desktop.ui.server_child import ServerChild


def run(url: str | None, *, no_server: bool) -> int:
    """``sse-viewer [URL] [--no-server]``: open the window and run until it closes."""
    child = None
    if not no_server and url is None:
        child = ServerChild()
        child.spawn(0)

    from PySide6.QtWidgets import QApplication

    from desktop.ui import theme
    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("sse-viewer")
    app.setQuitOnLastWindowClosed(False)  # quit only after the cleanup below
    theme.apply(app)
    loop = AppLoop(app)
    asyncio.set_event_loop(loop)
    viewer = Viewer(url, server=child)

    async def main() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, viewer.window.close)
        viewer.start()
        await viewer.closed()
        await viewer.shutdown()

    try:
        loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        loop.close()
        asyncio.set_event_loop(None)
    return 0
