"""A real ``redis-server`` (the Debian package) on 127.0.0.1 for tests.

It listens on a free TCP port (``--port 0`` would turn TCP off: a port is picked
and the start retried on a clash), keeps its files in a temporary directory, saves
nothing (no RDB, no AOF: a restart empties it, as a Redis without persistence
does) and is stopped after the test.  Tests fail when ``redis-server`` is missing
(tests/run.sh installs it: desktop/scripts/setup.sh, TEST_REDIS_PACKAGES).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int, password: str | None) -> bool:
    """A PING gets PONG (or, with a password, the AUTH error that proves Redis)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
    except OSError:
        return False
    return reply.startswith(b"+PONG") or (
        password is not None and reply.startswith(b"-NOAUTH")
    )


@dataclass
class RedisServer:
    """One redis-server process; `stop` and `start` again keep the port."""

    directory: Path
    password: str | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        for _ in range(5):  # a port taken between picking and binding: another one
            port = self.port or _free_port()
            args = [
                REDIS_SERVER,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--dir", str(self.directory),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
            ]  # fmt: skip
            if self.password:
                args += ["--requirepass", self.password]
            self.process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 10
            while self.process.poll() is None and time.monotonic() < deadline:
                if _answers(port, self.password):
                    self.port = port
                    return
                time.sleep(0.01)
            self.stop()
            if self.port:  # restarting on a fixed port: wait for it to be free
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def start_redis(directory: Path, password: str | None = None) -> RedisServer:
    """Start one; a missing ``redis-server`` fails the test (tests/run.sh installs
    it as root), as a missing Chromium does: the suite never skips silently."""
    if REDIS_SERVER is None:
        pytest.fail(
            "redis-server is missing: run tests/run.sh as root, or "
            "apt-get install -y --no-install-recommends redis-server"
        )
    server = RedisServer(directory, password)
    server.start()
    return server
