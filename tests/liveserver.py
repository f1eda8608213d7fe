"""Real uvicorn in a thread on a pre-bound port-0 socket, and a raw SSE reader."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from server.app import create_app
from server.runner import bind, make_server, url_of
from server.settings import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import httpx
    from fastapi import FastAPI

    from server.runner import Server
    from server.runtime import Runtime

# Tens of ms, so the suite is fast; the lab is on.
FAST = Settings(
    retry_ms=20,
    ping_s=0.2,
    lab=True,
    send_timeout_s=1.0,
    shutdown_timeout_s=1.0,
    stats_interval_s=0.2,
)

LOG_CONFIG = {"version": 1, "disable_existing_loggers": False}


def fast(**changes: object) -> Settings:
    return dataclasses.replace(FAST, **changes)  # type: ignore[arg-type]


@dataclass
class LiveServer:
    """One running server; ``rt`` is its runtime (read it, do not drive it)."""

    url: str
    app: FastAPI
    server: Server
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def rt(self) -> Runtime:
        rt: Runtime = self.app.state.runtime
        return rt

    def call(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the server's loop (e.g. to publish) and wait for it."""
        assert self.loop is not None
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        assert done.wait(5)

    def stop(self, timeout: float = 10) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "server did not stop"


def start(settings: Settings = FAST) -> LiveServer:
    if "sse_starlette.sse" in sys.modules:  # global flag: a shutdown ends later streams
        sys.modules["sse_starlette.sse"].AppStatus.should_exit = False
    sock = bind("127.0.0.1", 0)
    app = create_app(settings)
    server = make_server(
        app, shutdown_timeout_s=settings.shutdown_timeout_s, log_config=LOG_CONFIG
    )
    holder: dict[str, asyncio.AbstractEventLoop] = {}

    def run() -> None:
        async def main() -> None:
            holder["loop"] = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        try:
            asyncio.run(main())
        finally:
            sock.close()

    thread = threading.Thread(target=run, name="live server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.005)
    return LiveServer(url_of(sock), app, server, thread, holder["loop"])


@dataclass
class Item:
    """One parsed SSE item: an event, a comment, or a retry field on its own."""

    kind: str  # "event" | "comment" | "retry"
    type: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    text: str = ""
    at: float = field(default_factory=time.monotonic)


class Parser:
    """A small line parser for tests (LF only; the server writes LF)."""

    def __init__(self) -> None:
        self._buf = b""
        self._fields: list[tuple[str, str]] = []

    def feed(self, data: bytes) -> list[Item]:
        self._buf += data
        items: list[Item] = []
        while b"\n" in self._buf:
            raw, self._buf = self._buf.split(b"\n", 1)
            line = raw.decode()
            if line == "":
                items.extend(self._dispatch())
            elif line.startswith(":"):
                items.append(Item("comment", text=line[1:].strip()))
            else:
                name, _, value = line.partition(":")
                self._fields.append((name, value.removeprefix(" ")))
        return items

    @property
    def partial(self) -> bool:
        """An unfinished event is pending (bytes or fields without a blank line)."""
        return bool(self._buf or self._fields)

    def _dispatch(self) -> list[Item]:
        fields, self._fields = self._fields, []
        item = Item("event")
        data: list[str] = []
        for name, value in fields:
            if name == "data":
                data.append(value)
            elif name == "event":
                item.type = value
            elif name == "id":
                item.id = value
            elif name == "retry":
                item.retry = int(value)
        if data:
            item.data = "\n".join(data)
            return [item]
        if item.retry is not None:
            return [Item("retry", retry=item.retry)]
        return []


async def items_of(response: httpx.Response) -> AsyncIterator[Item]:
    parser = Parser()
    async for chunk in response.aiter_raw():
        for item in parser.feed(chunk):
            yield item


def events_only(items: list[Item]) -> list[Item]:
    return [i for i in items if i.kind == "event"]
