"""A scripted raw HTTP/1.1 test server: exact bytes, read splits, pauses, drops, resets.

Each incoming connection reads one request, then plays the next script from a list:
a tuple of steps (``Send`` exact bytes, ``Pause``, ``Close`` with FIN, ``Reset`` with
RST, ``Hang`` until the client goes away).  The server logs every connection: when it
arrived, the request (method, target, headers, body), when the script ended it and
when the client closed it, so tests can assert request headers and reconnect delays.

It runs on 127.0.0.1 with an OS-chosen port, on its own asyncio loop in a background
thread, so sync tests, ``asyncio.run`` tests and subprocess tests can all use it::

    with RawServer([sse(b"data: a\\n\\n")]) as server:
        ...  # connect to server.url("/stream")
        server.wait_connections(1)
        assert server.connections[0].request.header("accept") == "text/event-stream"

Every response carries ``Connection: close``: one request per connection, so one
script per connection (redirects included).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

__all__ = [
    "Close",
    "Connection",
    "Hang",
    "Pause",
    "RawServer",
    "Request",
    "Reset",
    "Script",
    "Send",
    "free_port",
    "head",
    "redirect",
    "respond",
    "split",
    "sse",
]


@dataclass(frozen=True)
class Send:
    """Write these exact bytes and drain."""

    data: bytes


@dataclass(frozen=True)
class Pause:
    """Sleep before the next step (to force separate reads on the client)."""

    seconds: float


@dataclass(frozen=True)
class Close:
    """Half-close (FIN) after flushing, then close the socket."""


@dataclass(frozen=True)
class Reset:
    """Abort with RST (SO_LINGER 0): a network error for the client."""


@dataclass(frozen=True)
class Hang:
    """Keep the connection open, sending nothing, until the client closes it
    (or ``seconds`` pass, or the server stops).  Then close."""

    seconds: float | None = None


Step = Send | Pause | Close | Reset | Hang
Script = tuple[Step, ...]


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), None when absent.

        Several occurrences are joined with ", " as HTTP allows."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]


@dataclass
class Connection:
    """One accepted TCP connection as the server saw it (times: time.monotonic())."""

    index: int
    arrived: float
    request: Request | None = None
    ended: float | None = None  # the script finished and the socket was closed
    client_closed: float | None = None  # the server saw EOF/reset from the client
    done: threading.Event = field(default_factory=threading.Event)


def head(
    status: int = 200,
    reason: str = "",
    *,
    content_type: str | None = "text/event-stream",
    headers: Iterable[tuple[str, str]] = (),
    content_length: int | None = None,
) -> bytes:
    """A response head with ``Connection: close`` (body until close unless a length)."""
    reason = reason or _REASONS.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    lines.append("Cache-Control: no-cache")
    lines.extend(f"{k}: {v}" for k, v in headers)
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def sse(
    *chunks: bytes,
    status: int = 200,
    content_type: str | None = "text/event-stream",
    headers: Iterable[tuple[str, str]] = (),
    pause: float = 0.0,
    end: Step | None = None,
) -> Script:
    """Headers, then each chunk as its own write (``pause`` between), then ``end``.

    ``end`` defaults to ``Close()`` (the server ends the stream)."""
    steps: list[Step] = [Send(head(status, content_type=content_type, headers=headers))]
    for i, chunk in enumerate(chunks):
        if pause and i:
            steps.append(Pause(pause))
        steps.append(Send(chunk))
    steps.append(end if end is not None else Close())
    return tuple(steps)


def split(*chunks: bytes, pause: float = 0.03) -> tuple[Step, ...]:
    """Steps sending each chunk as a separate write with a pause between."""
    steps: list[Step] = []
    for i, chunk in enumerate(chunks):
        if i:
            steps.append(Pause(pause))
        steps.append(Send(chunk))
    return tuple(steps)


def respond(
    status: int,
    body: bytes = b"",
    *,
    content_type: str | None = "text/plain",
    headers: Iterable[tuple[str, str]] = (),
) -> Script:
    """A complete (non-streaming) response with a Content-Length, then close."""
    if status in (204, 304) or 100 <= status < 200:
        data = head(status, content_type=None, headers=headers)
    else:
        data = head(
            status, content_type=content_type, headers=headers, content_length=len(body)
        )
        data += body
    return (Send(data), Close())


def redirect(status: int, location: str) -> Script:
    return respond(status, content_type=None, headers=[("Location", location)])


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connecting is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    303: "See Other",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class RawServer:
    """The scripted server; a context manager.  See the module docstring."""

    def __init__(
        self,
        scripts: Iterable[Script] = (),
        *,
        default: Script = (Reset(),),
        paths: dict[str, Script] | None = None,
    ) -> None:
        self._scripts: list[Script] = list(scripts)
        self._default = default
        # Scripts for these paths whatever the order, out of the queue: e.g. a 404
        # for /api/info, which the app's jobs panel asks of any stream's server.
        self._paths = dict(paths or {})
        self._lock = threading.Lock()
        self._connections: list[Connection] = []
        self._changed = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = 0

    # -- public API (any thread) ---------------------------------------------

    def url(self, path: str = "/stream") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, *scripts: Script) -> None:
        """Append scripts for connections still to come."""
        with self._lock:
            self._scripts.extend(scripts)

    def route(self, path: str, script: Script) -> None:
        """Play ``script`` for every request of ``path`` (e.g. once the port is
        known, a redirect to this server under another host name)."""
        with self._lock:
            self._paths[path] = script

    @property
    def connections(self) -> list[Connection]:
        with self._lock:
            return list(self._connections)

    @property
    def requests(self) -> list[Request]:
        return [c.request for c in self.connections if c.request is not None]

    def wait_connections(self, n: int, timeout: float = 10.0) -> list[Connection]:
        """Block until at least ``n`` connections arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._connections) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {n} connections, got {len(self._connections)}"
                    )
                self._changed.wait(left)
            return list(self._connections)

    def wait_closed(self, index: int, timeout: float = 10.0) -> Connection:
        """Block until connection ``index`` is finished (script end or client close)."""
        conn = self.wait_connections(index + 1, timeout)[index]
        if not conn.done.wait(timeout):
            raise AssertionError(f"connection {index} still open after {timeout} s")
        return conn

    def __enter__(self) -> RawServer:
        self._thread = threading.Thread(target=self._run, name="rawserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("raw server did not start")
        if self._error is not None:
            raise RuntimeError("raw server failed to start") from self._error
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread is None:
            return
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # loop already gone
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(10)
        if self._thread.is_alive():
            raise RuntimeError("raw server thread did not stop")
        self._thread = None
        if self._error is not None:
            raise RuntimeError("raw server crashed") from self._error

    # -- server thread -------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        handlers: set[asyncio.Task[None]] = set()

        async def handle(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)  # so that stop() can cancel and await every handler
            task.add_done_callback(handlers.discard)
            try:
                await self._serve(reader, writer)
            except asyncio.CancelledError:
                # stop() cancelled it: end normally.  On Python 3.11 start_server's
                # done-callback calls task.exception() on a cancelled handler, which
                # raises and is logged as "Exception in callback" (fixed in 3.12).
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await server.wait_closed()

    def _next_script(self) -> Script:
        with self._lock:
            return self._scripts.pop(0) if self._scripts else self._default

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        sock = writer.get_extra_info("socket")
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._changed:
            conn = Connection(index=len(self._connections), arrived=time.monotonic())
            self._connections.append(conn)
            self._changed.notify_all()
        try:
            conn.request = await _read_request(reader)
            if conn.request is None:  # client went away before a full request
                conn.client_closed = time.monotonic()
                return
            script = self._paths.get(conn.request.path) or self._next_script()
            for step in script:
                if isinstance(step, Send):
                    writer.write(step.data)
                    await writer.drain()
                elif isinstance(step, Pause):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, Close):
                    if writer.can_write_eof():
                        writer.write_eof()
                    break
                elif isinstance(step, Reset):
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    writer.transport.abort()
                    break
                elif isinstance(step, Hang):
                    await self._hang(reader, conn, step.seconds)
                    break
        except (ConnectionError, OSError):
            conn.client_closed = conn.client_closed or time.monotonic()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
                await asyncio.shield(writer.wait_closed())
            conn.ended = time.monotonic()
            conn.done.set()
            with self._changed:
                self._changed.notify_all()

    @staticmethod
    async def _hang(
        reader: asyncio.StreamReader, conn: Connection, seconds: float | None
    ) -> None:
        async def until_client_closes() -> None:
            while await reader.read(65536):
                pass
            conn.client_closed = time.monotonic()

        try:
            async with asyncio.timeout(seconds):
                await until_client_closes()
        except TimeoutError:
            pass
        except (ConnectionError, OSError):
            conn.client_closed = time.monotonic()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        return None
    except asyncio.LimitOverrunError:
        return None
    lines = raw[:-4].decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    body = b""
    length = next((v for k, v in headers if k.lower() == "content-length"), None)
    if length is not None and int(length) > 0:
        try:
            body = await reader.readexactly(int(length))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return None
    elif any(
        k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers
    ):
        body = await _read_chunked(reader)
    return Request(method, target, version, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # trailers end (we accept none)
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
