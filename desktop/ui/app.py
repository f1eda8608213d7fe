"""``run()``: the bundled server child first, then QApplication, window and loop.

This module imports only a few standard modules at the top: ``run()`` spawns the
server child before Qt is even imported, so the server's start-up overlaps the
GUI's, and it shows the window before asyncio and the network stack (httpx, the
engine, qasync) are imported.  The loop lives in ``loop.py``, the composition in
``viewer.py``.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from typing import TYPE_CHECKING

from desktop.ui.server_child import ServerChild

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QApplication

    from desktop.ui.loop import AppLoop
    from desktop.ui.main_window import MainWindow
    from desktop.ui.viewer import Viewer


def tune_gc() -> None:
    """Keep full garbage collections off the UI loop's back.

    A full collection walks every tracked object: with 100,000 retained records
    that is 50-110 ms on the UI loop, and by default it comes every ~25% growth of
    the heap (several times a second at 100k events/s).  Records hold no cycles and
    are freed by reference counting when trimmed, so full collections can be rare;
    young cycles are still collected by generations 0 and 1.  What start-up built
    (modules, Qt wrappers) is frozen so no collection walks it again.
    """
    gc.freeze()
    gc.set_threshold(700, 10, 1_000)


def launch(
    url: str | None,
    *,
    no_server: bool,
    window_shown: Callable[[MainWindow], None] | None = None,
) -> tuple[QApplication, AppLoop, Viewer]:
    """Everything ``run()`` does before its loop runs (benchmarks time it)."""
    child = None
    if not no_server and url is None:
        from desktop.core.serving import saved_protocol  # stdlib only, no Qt

        child = ServerChild(flags=saved_protocol().flags)
        child.spawn(0)

    from PySide6.QtWidgets import QApplication

    from desktop.ui import theme
    from desktop.ui.main_window import MainWindow
    from desktop.ui.settings import Settings
    from desktop.ui.window_prefs import theme_choice

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("sse-viewer")
    app.setQuitOnLastWindowClosed(False)  # quit only after the cleanup in run()
    settings = Settings()
    theme.apply(app, dark=theme.is_dark(theme_choice(settings)))
    # up and painted before the network stack is imported
    window = MainWindow(settings=settings)
    window.show()
    app.processEvents()
    if window_shown is not None:
        window_shown(window)

    import asyncio

    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer

    loop = AppLoop(app)
    asyncio.set_event_loop(loop)
    viewer = Viewer(url, server=child, window=window)
    tune_gc()
    from desktop.ui import gc_guard

    gc_guard.install(app)  # Qt objects in cycles are freed on this thread only
    return app, loop, viewer


def run(url: str | None, *, no_server: bool, recording: str | None = None) -> int:
    """``sse-viewer [URL] [--no-server]``: open the window and run until it closes;
    ``recording``: open that file in it (``sse-viewer open FILE``)."""
    # Start-up takes a second or more on a loaded machine; a Ctrl-C or SIGTERM
    # then (before the loop's handlers exist) is remembered and honoured as a
    # normal close once they are, instead of killing the app mid-start.
    early: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: early.append(number))
    _app, loop, viewer = launch(url, no_server=no_server)
    viewer.recording = recording
    import asyncio  # imported by launch(), after the window is up

    async def main() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, viewer.window.close)
        viewer.start()
        if early:  # runs once closed() below has made its future
            loop.call_soon(viewer.window.close)
        await viewer.closed()
        await viewer.shutdown()

    task = loop.create_task(main())

    def quitting() -> None:
        """Qt leaves its event loop: after ``main()`` that is ours, as planned.

        Before, it is the display going away: xcb quits the application when
        its connection to the X server breaks (and again on every later turn).
        Then no loop turn can run the streams' or the child's shutdown, and
        qasync's last ``processEvents`` would step their tasks with no running
        loop (anyio's "no running event loop" tracebacks).  So, here, before it:
        stop the bundled server without the loop, say why in one line, and
        leave at once; an ordinary exit would report every stream's task as
        destroyed while pending.  The kernel closes the sockets.
        """
        if task.done():
            return
        if viewer.server is not None:
            viewer.server.stop_now()
        print("sse-viewer: the display went away; the window is gone", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    _app.aboutToQuit.connect(quitting)  # emitted by exec() before it returns
    try:
        loop.run_until_complete(task)
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        loop.close()
        asyncio.set_event_loop(None)
    return 0
