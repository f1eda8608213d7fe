"""A lesson's own server cluster: a redis-server and ``python -m server --workers 2``.

The lesson "A worker dies" needs what the app's bundled server is not: several
worker processes on one port, sharing a log in Redis (or, as the counter-example,
each with its own).  This starts them as child processes on 127.0.0.1 (Redis on a
free port, in a temporary directory, saving nothing) and stops them; the server
child exits with the app too (``--watch-stdin``).  The app does not install Redis:
`redis_server` says whether the program is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

INSTALL_REDIS = "sudo apt-get install redis-server"
START_S = 30.0  # the workers' READY line comes within this


class ClusterError(Exception):
    """The cluster could not start (its message says why)."""


def redis_server() -> str | None:
    """The path of the ``redis-server`` program, or None when it is not installed."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _answers(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        async with asyncio.timeout(0.5):
            return (await reader.read(16)).startswith(b"+PONG")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclass
class Cluster:
    """The running children; `url` is the workers' shared port."""

    url: str
    server: asyncio.subprocess.Process
    redis: asyncio.subprocess.Process | None = None

    def kill_worker(self, worker: str) -> bool:
        """SIGKILL worker ``w<n>-<pid>`` if it is one of this cluster's workers."""
        pid_text = worker.partition("-")[2]
        if not pid_text.isdigit():
            return False
        pid = int(pid_text)
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if parent != self.server.pid:  # never a process that is not ours
            return False
        os.kill(pid, signal.SIGKILL)
        return True


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            async with asyncio.timeout(5):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
    if process.stdin is not None:
        process.stdin.close()


async def _start_redis(directory: str) -> tuple[asyncio.subprocess.Process, int]:
    program = redis_server()
    if program is None:
        raise ClusterError(f"redis-server is not installed: {INSTALL_REDIS}")
    for _ in range(5):  # a port taken between picking and binding: another one
        port = _free_port()
        process = await asyncio.create_subprocess_exec(
            program,
            *("--bind", "127.0.0.1", "--port", str(port), "--dir", directory),
            *("--save", "", "--appendonly", "no", "--loglevel", "warning"),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(500):
            if process.returncode is not None:
                break
            if await _answers(port):
                return process, port
            await asyncio.sleep(0.01)
        await _stop(process)
    raise ClusterError("redis-server did not start")


async def _start_server(args: Sequence[str]) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "server", "--host", "127.0.0.1", "--port", "0", "--watch-stdin"),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(START_S):
            line = (await process.stdout.readline()).decode().strip()
    except TimeoutError:
        line = ""
    if not line.startswith("READY "):
        await _stop(process)
        raise ClusterError(f"the workers did not start ({line or 'no READY line'})")
    return process, line.split()[1]


@contextlib.asynccontextmanager
async def started_cluster(
    workers: int, args: Sequence[str], *, with_redis: bool
) -> AsyncIterator[Cluster]:
    """``workers`` server processes on one port (with a Redis of their own)."""
    with tempfile.TemporaryDirectory(prefix="sse-viewer-lesson-") as directory:
        redis: asyncio.subprocess.Process | None = None
        extra: list[str] = ["--workers", str(workers), *args]
        if with_redis:
            redis, port = await _start_redis(directory)
            extra += ["--broker", f"redis://127.0.0.1:{port}/0"]
        else:
            extra.append("--per-worker-logs")
        try:
            server, url = await _start_server(extra)
            try:
                yield Cluster(url, server, redis)
            finally:
                await _stop(server)
        finally:
            if redis is not None:
                await _stop(redis)
