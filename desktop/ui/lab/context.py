"""The app's LabContext: the lessons run on the app's HTTP client and bundled server.

`AppLabContext` gives a lesson the base URL of the bundled server, the app's
shared ``httpx.AsyncClient``, a `LabClient` over both, the human `Timing`, a
restart that restarts the app's own server child on the same port, and a live
feed of the lesson's records for the lanes view.  `restart_child` is that
restart for a `ServerChild`, `serve_child` the same with another protocol.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from desktop.core.lab.client import LabClient
from desktop.core.lab.lessons.catalog import Timing
from desktop.core.lab.lessons.run import LessonStepError
from desktop.core.serving import Served, ServerProtocol, local_ca_file

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import httpx

    from desktop.core.engine.records import Record
    from desktop.ui.server_child import ServerChild

_RESTART_LIMIT_S = 30.0


class AppLabContext:
    """A LabContext made of the app's parts (see desktop/core/lab/lessons/base.py)."""

    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient,
        restart: Callable[[], Awaitable[None]],
        on_records: Callable[[str, list[Record]], None] | None = None,
        timing: Timing | None = None,
        *,
        serve: Callable[[str], Awaitable[Served]] | None = None,
        open_page: Callable[[str], bool] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client
        self.lab = LabClient(self.base_url, client)
        self.timing = timing or Timing.human()
        self._restart = restart
        self._on_records = on_records
        self._serve = serve
        self._open_page = open_page

    async def restart_server(self) -> None:
        await self._restart()

    async def serve(self, protocol: str) -> Served:
        """Restart the bundled server speaking ``protocol`` (a ServerProtocol value)."""
        if self._serve is None:
            raise RuntimeError("only the app's bundled server can switch protocol")
        return await self._serve(protocol)

    def open_page(self, url: str) -> bool:
        return self._open_page is not None and self._open_page(url)

    def on_records(self, lane: str, batch: list[Record]) -> None:
        if self._on_records is not None:
            self._on_records(lane, batch)


async def restart_child(child: ServerChild, limit_s: float = _RESTART_LIMIT_S) -> None:
    """Stop the bundled server and start it on the same port; return once it listens.

    The child's ``on_ready`` (the viewer's) still runs on READY, so the app's own
    streams and jobs panel notice the new server as after any restart.
    """
    port = child.port
    await child.stop()
    child.spawn(port)
    deadline = time.monotonic() + limit_s
    while child.url is None:
        if not child.running:
            last = child.stderr[-1] if child.stderr else "it exited"
            raise LessonStepError(
                "the server restarts", f"the server did not come back: {last}"
            )
        if time.monotonic() > deadline:
            raise LessonStepError(
                "the server restarts", f"no READY within {limit_s:.0f} s"
            )
        await asyncio.sleep(0.02)


async def serve_child(
    child: ServerChild, protocol: str, limit_s: float = _RESTART_LIMIT_S
) -> Served:
    """The bundled server speaking ``protocol``: restarted on its port if it must be."""
    chosen = ServerProtocol.of(protocol)
    was = ServerProtocol.of_flags(child.flags)
    if chosen.flags != child.flags or not child.running or child.url is None:
        child.flags = chosen.flags
        await restart_child(child, limit_s)
    assert child.url is not None
    ca = str(local_ca_file()) if chosen.tls else None
    return Served(child.url, chosen, ca, was)
