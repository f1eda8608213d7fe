"""QApplication + qasync loop, the bundled server child, and ``run()``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import TYPE_CHECKING

os.environ.setdefault("QT_API", "pyside6")  # qasync takes the first binding it finds

import qasync  # type: ignore[import-untyped]
from PySide6.QtWidgets import QApplication

from desktop.ui import theme
from desktop.ui.controller import StreamController
from desktop.ui.main_window import MainWindow
from desktop.ui.request import RequestForm, events_url
from desktop.ui.server_child import BundledServer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from desktop.ui.stream_view import StreamView


class AppLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync's loop plus the async-generator hooks it leaves out.

    Without them an httpx stream left early finalises its generators outside the
    loop ("async generator ignored GeneratorExit", "cancel scope in a different task").
    """

    def run_forever(self) -> object:
        old = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook,
            finalizer=self._asyncgen_finalizer_hook,
        )
        try:
            return super().run_forever()
        finally:
            sys.set_asyncgen_hooks(*old)


class Viewer:
    """The running app: window, stream controller, jobs, bundled server."""

    def __init__(
        self,
        url: str | None = None,
        *,
        no_server: bool = False,
        server_args: Sequence[str] = (),
    ) -> None:
        self.controller = StreamController()
        self.window = MainWindow(self.controller)
        self.server = None if no_server else BundledServer(server_args)
        self.url = url
        self._closed: asyncio.Future[None] | None = None
        self._bundled_view: StreamView | None = None
        self.window.closeRequested.connect(self._close_requested)
        if self.server is not None:
            self.server.ready.connect(self._server_ready)
            self.server.died.connect(self._server_died)
            self.window.restartServerRequested.connect(self.restart_server)

    def start(self) -> None:
        """Child first (it takes longest), then the window; streams follow READY."""
        if self.server is not None:
            self.server.start()
            view = self.window.add_stream(self.controller.new_stream())
            view.state.message.setText("Starting the bundled server…")
            view.state.message.show()
            self._bundled_view = view
            self.window.show_server("Starting the bundled server…")
        elif self.url:
            view = self.window.add_stream(
                self.controller.new_stream(RequestForm(self.url))
            )
            view.bar.connect_button.click()
        else:
            self.window.new_stream()
        self.window.show()

    def _server_ready(self, url: str) -> None:
        self.window.show_server(f"Bundled server {url}")
        view = self._bundled_view
        if view is not None and not view.handle.running:
            form = view.handle.form
            target = events_url(url)
            if form.url and form.url != target:  # a restart moved the port
                target = form.url
            view.bar.set_form(
                RequestForm(target, form.method, form.headers, form.body, form.retry_ms)
            )
            view.bar.connect_button.click()

    def _server_died(self, message: str) -> None:
        self.window.show_server(message, problem=True)

    def restart_server(self) -> None:
        if self.server is not None and not self.server.running:
            self.window.show_server("Restarting the bundled server…")
            self.server.start()

    def _close_requested(self) -> None:
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    async def closed(self) -> None:
        """Wait until the user closes the window."""
        self._closed = asyncio.get_running_loop().create_future()
        await self._closed

    async def shutdown(self) -> None:
        """Streams first (their sockets close), then the child server."""
        self.window.hide()
        await self.controller.shutdown()
        if self.server is not None:
            await self.server.stop()


def run(url: str | None, *, no_server: bool) -> int:
    """``sse-viewer [URL] [--no-server]``: open the window and run until it closes."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("sse-viewer")
    app.setQuitOnLastWindowClosed(False)  # quit only after the cleanup below
    theme.apply(app)
    loop = AppLoop(app)
    asyncio.set_event_loop(loop)
    viewer = Viewer(url, no_server=no_server)

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
        loop.close()
        asyncio.set_event_loop(None)
    return 0
