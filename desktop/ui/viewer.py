"""The running app: window, stream and jobs controllers, the bundled server child."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from PySide6.QtCore import QTimer

from desktop.core.lab.lessons.run import LessonStepError
from desktop.core.serving import SETTING, Served, ServerProtocol, local_ca_file
from desktop.ui.controller import StreamController
from desktop.ui.jobs.controller import JobsController
from desktop.ui.lab.context import serve_child
from desktop.ui.main_window import MainWindow
from desktop.ui.rate import tab as rate_tab
from desktop.ui.request import RequestForm, events_url

if TYPE_CHECKING:
    from desktop.ui.server_child import ServerChild
    from desktop.ui.stream_view import StreamView

PRELOAD_AFTER_MS = 1000  # the window is up and painted well before this


class Viewer:
    """Wires the parts together; ``start``, then ``closed``, then ``shutdown``."""

    recording: str | None = None  # a recording to open at start (sse-viewer open)

    def __init__(
        self,
        url: str | None = None,
        *,
        server: ServerChild | None = None,
        window: MainWindow | None = None,
    ) -> None:
        self.controller = StreamController()
        self.jobs = JobsController(lambda: self.controller.client)
        self.window = window or MainWindow()
        self.window.attach(self.controller, self.jobs)
        self.server = server
        self.url = url
        self._closed: asyncio.Future[None] | None = None
        self._bundled_view: StreamView | None = None
        self.window.closeRequested.connect(self._close_requested)
        self.window.restartServerRequested.connect(self.restart_server)
        if server is not None:
            self.window.lab_restart = self.restart_and_wait
            self.window.lab_base = lambda: server.url
            self.window.lab_serve = self.serve_as
            self.window.show_protocol(protocol_of(server))
            self.window.serverProtocolChosen.connect(self._protocol_chosen)

    def start(self) -> None:
        """Show the window at once; the bundled stream connects when READY arrives."""
        server = self.server
        if server is not None:
            server.on_ready = self._server_ready
            server.on_exit = self._server_died
            view = self.window.add_stream(self.controller.new_stream())
            view.state.message.setText("Starting the bundled server…")
            view.state.message.show()
            self._bundled_view = view
            self.window.show_server("Starting the bundled server…")
            if server.process is None:
                server.spawn(0)
            server.attach(asyncio.get_running_loop())
        elif self.recording:
            if self.window.file_action("open_file", self.recording) is None:
                self.window.new_stream()  # the message says why; a tab to go on
        elif self.url:
            form = RequestForm(self.url)
            view = self.window.add_stream(self.controller.new_stream(form))
            view.connect_stream()
        else:
            self.window.new_stream()
        self.window.show()
        # Build the shared HTTP client while the server starts, not when READY comes.
        asyncio.get_running_loop().call_later(0.05, lambda: self.controller.client)
        # Once the window has painted: the Rate tab's modules, off the UI thread.
        QTimer.singleShot(PRELOAD_AFTER_MS, rate_tab.preload)

    def _server_ready(self, url: str) -> None:
        if url.startswith("https:"):  # its certificate is signed by the local CA
            self.controller.trust_ca(str(local_ca_file()))
        protocol = protocol_of(self.server) if self.server else ServerProtocol.HTTP1
        self.window.show_server(f"Bundled server {url} ({protocol.label})")
        if self.window.lab is not None:
            self.window.lab.controller.server_ready()
        view = self._bundled_view
        if view is not None:
            form = view.handle.form
            moved = rebased(form.url, url)  # the same server, now http or https
            if moved is not None or not view.handle.running:
                target = moved or form.url or events_url(url)
                view.bar.set_form(replace(form, url=target))
                view.connect_stream()
        if self.jobs.base_url == url:  # a restart on the same port
            self.jobs.reprobe()
        elif self.jobs.base_url is None or rebased(self.jobs.base_url, url):
            self.jobs.set_server(url)

    def _protocol_chosen(self, value: str) -> None:
        """Server → Bundled server: remembered, and the server restarted so."""
        self.window.prefs.settings.set(SETTING, ServerProtocol.of(value).value)

        async def switch() -> None:
            try:
                await self.serve_as(value)
            except (RuntimeError, LessonStepError) as exc:
                self.window.show_server(str(exc), problem=True)

        self.controller.spawn(switch())

    async def serve_as(self, value: str) -> Served:
        """The bundled server speaking ``value`` (a ServerProtocol), on its port."""
        if self.server is None:
            raise RuntimeError("there is no bundled server to switch")
        protocol = ServerProtocol.of(value)
        self.window.show_protocol(protocol)
        was = protocol_of(self.server)
        if was != protocol:
            self.window.show_server(
                f"Restarting the bundled server ({protocol.label})…"
            )
        view, url = self._bundled_view, self.server.url
        if (
            view is not None
            and url is not None
            and was.tls != protocol.tls
            and urlsplit(view.handle.form.url).netloc == urlsplit(url).netloc
        ):
            # Its reconnects would speak the old scheme to the new server (and an
            # asyncio TLS handshake cancelled half-way leaves its socket open);
            # READY connects it again on the new scheme (_server_ready).
            stopping = self.controller.stop(view.handle)
            if stopping is not None:
                await asyncio.gather(stopping, return_exceptions=True)
        return await serve_child(self.server, protocol.value)

    def _server_died(self, message: str) -> None:
        self.window.show_server(message, problem=True)

    def restart_server(self) -> None:
        """On the same port as before: open streams reconnect to it by themselves."""
        if self.server is not None and not self.server.running:
            self.window.show_server("Restarting the bundled server…")
            self.server.spawn()

    async def restart_and_wait(self, limit_s: float = 30.0) -> None:
        """Stop the bundled server and start it again on its port; return when up."""
        server = self.server
        if server is None:
            raise RuntimeError("there is no bundled server to restart")
        self.window.show_server("Restarting the bundled server…")
        await server.stop()
        server.spawn()
        deadline = asyncio.get_running_loop().time() + limit_s
        while server.url is None:
            if not server.running or asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("the bundled server did not come back")
            await asyncio.sleep(0.02)

    def _close_requested(self) -> None:
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    async def closed(self) -> None:
        """Wait until the user closes the window."""
        self._closed = asyncio.get_running_loop().create_future()
        await self._closed

    async def shutdown(self) -> None:
        """Streams first (their sockets close), then the child server."""
        if self.server is not None:
            # A READY arriving now (the app closed during start-up) must not
            # start a stream or a jobs probe on the client being closed.
            self.server.on_ready = None
        self.window.hide()
        await self.jobs.shutdown()
        await self.controller.shutdown()  # closes the shared client last
        if self.server is not None:
            await self.server.stop()
        await _settle()


def protocol_of(server: ServerChild) -> ServerProtocol:
    """The protocol the child's flags ask for."""
    return ServerProtocol.of_flags(server.flags)


def rebased(url: str, server_url: str) -> str | None:
    """``url`` on ``server_url``'s scheme when it names that server by another one."""
    old, new = urlsplit(url), urlsplit(server_url)
    if old.scheme == new.scheme or old.netloc != new.netloc:
        return None
    return urlunsplit(old._replace(scheme=new.scheme))


async def _settle() -> None:
    """Let the aclose() tasks of abandoned async generators finish on a running loop.

    A cancelled httpx stream leaves inner async generators to the loop's finalizer
    hook, which schedules their aclose(); qasync's run_until_complete would
    otherwise run them after the loop stopped, where anyio has no loop to find.
    """
    await asyncio.sleep(0.01)
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    if pending:
        await asyncio.wait(pending, timeout=1.0)
