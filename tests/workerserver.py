"""``python -m server --workers N`` as a real process tree, for tests.

It runs from this worktree (PYTHONPATH), prints its READY line on stdout and its
logs (each worker's ``worker w<n>-<pid> ready`` line too) to a file.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class WorkerServer:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def worker_of(self, path: str = "/api/info") -> str:
        """The worker that answers one request on a new connection."""
        r = httpx.get(f"{self.url}{path}", headers={"Connection": "close"}, timeout=10)
        return r.headers["X-SSE-Worker"]

    def workers(self, count: int, tries: int = 400) -> set[str]:
        """New connections until ``count`` different workers answered."""
        seen: set[str] = set()
        for _ in range(tries):
            seen.add(self.worker_of())
            if len(seen) >= count:
                return seen
        raise AssertionError(f"only {seen} answered {tries} connections")

    def stop(self, timeout: float = 10) -> float:
        """SIGTERM; the seconds it took to exit."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()
        return time.monotonic() - started


def pid_of(worker: str) -> int:
    """``w2-1234`` -> 1234."""
    return int(worker.partition("-")[2])


def start_workers(log: Path, *args: str, timeout: float = 60) -> WorkerServer:
    """Start ``python -m server --port 0 ARGS``; wait for its READY line."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "server", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or process.poll() is not None:
            process.kill()
            process.wait()
            process.stdout.close()
            raise RuntimeError(f"no READY line: {log.read_text(errors='replace')}")
        if select.select([process.stdout], [], [], min(left, 0.2))[0]:
            chunk = os.read(process.stdout.fileno(), 1)
            line += chunk
    text = line.decode().strip()
    assert text.startswith("READY "), text
    return WorkerServer(process, text.split()[1], log)


@contextlib.contextmanager
def stream_on(
    server: WorkerServer,
    path: str,
    want: Callable[[str], bool],
    headers: dict[str, str] | None = None,
    tries: int = 400,
) -> Iterator[httpx.Response]:
    """An open stream on a new connection served by a worker ``want`` accepts."""
    with httpx.Client(timeout=10) as client:
        for _ in range(tries):
            with client.stream(
                "GET",
                f"{server.url}{path}",
                headers={"Connection": "close", **(headers or {})},
            ) as r:
                if want(r.headers["X-SSE-Worker"]):
                    yield r
                    return
        raise AssertionError(f"no connection to {path} landed on the worker wanted")


def request_on(
    server: WorkerServer,
    method: str,
    path: str,
    want: Callable[[str], bool],
    tries: int = 400,
    **kwargs: Any,
) -> httpx.Response:
    """One request served by a worker ``want`` accepts: new connections are
    probed with ``/api/info`` until one lands there, and the request is sent once,
    on that connection (kept alive)."""
    for _ in range(tries):
        with httpx.Client(base_url=server.url, timeout=10) as client:
            if want(client.get("/api/info").headers["X-SSE-Worker"]):
                r = client.request(method, path, **kwargs)
                assert want(r.headers["X-SSE-Worker"]), "the same connection"
                return r
    raise AssertionError(f"no connection landed on the worker wanted for {path}")
