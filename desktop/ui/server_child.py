"""The bundled server as a child process: spawn, read READY, notice death, stop.

``python -m server --port 0 --lab --watch-stdin`` prints ``READY <url>`` once it
listens, and exits when its stdin reaches EOF.  We keep that pipe open for the
child's whole life, so when this process ends in any way, even SIGKILL, the kernel
closes it and the child follows: no orphan.

Qt-free and stdlib-only on purpose: ``run()`` spawns the child before it imports
Qt, so the server's start-up (about a second) overlaps the GUI's.  Two small
threads read the child's pipes (blocking reads, no transports to leak) and hand
what they see to the event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections import deque
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Sequence

READY = "READY "


class ServerChild:
    """One child server at a time; :meth:`spawn` again after it died restarts it."""

    def __init__(self, args: Sequence[str] = (), flags: Sequence[str] = ()) -> None:
        self.args = tuple(args)
        # The protocol's arguments (``--tls --http2``, desktop/core/serving.py),
        # kept apart from ``args`` so the app can switch them between spawns.
        self.flags = tuple(flags)
        self.url: str | None = None
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.stderr: deque[str] = deque(maxlen=20)
        self.on_ready: Callable[[str], None] | None = None
        self.on_exit: Callable[[str], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._exited = threading.Event()
        self._early: list[tuple[str, str]] = []  # what happened before attach()
        self._lock = threading.Lock()  # guards _loop/_early against the pumps

    @property
    def running(self) -> bool:
        return self.process is not None and not self._exited.is_set()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def spawn(self, port: int | None = None) -> None:
        """Start the child, by default on the port it had (so URLs stay valid)."""
        if self.running:
            return
        port = self.port if port is None else port
        command = [sys.executable, "-m", "server", "--port", str(port)]
        # warnings only: the access log would be one line per request on our pipe
        command += ["--lab", "--watch-stdin", "--log-level", "warning", *self.args]
        command += self.flags
        environment = dict(os.environ, PYTHONUNBUFFERED="1")
        self.url, self._stopping = None, False
        self._exited = threading.Event()
        self.stderr.clear()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,  # the child's lifeline: EOF means "we are gone"
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=environment,
            )
        except OSError as exc:
            self.process = None
            self._report("exit", f"The bundled server did not start: {exc}")
            return
        self.process = process
        assert process.stdout is not None and process.stderr is not None
        exited = self._exited
        threading.Thread(
            target=self._pump_stdout, args=(process, exited), daemon=True
        ).start()
        threading.Thread(
            target=self._pump_stderr, args=(process.stderr,), daemon=True
        ).start()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on, call ``on_ready`` and ``on_exit`` on ``loop``."""
        with self._lock:
            self._loop = loop
            early, self._early = self._early, []
        for what, value in early:
            loop.call_soon(self._deliver, what, value)

    # -- the pump threads ------------------------------------------------------------

    def _pump_stdout(
        self, process: subprocess.Popen[bytes], exited: threading.Event
    ) -> None:
        assert process.stdout is not None
        with process.stdout:
            for raw in process.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith(READY) and self.url is None:
                    url = line[len(READY) :].strip().rstrip("/")
                    self.url, self.port = url, int(url.rsplit(":", 1)[-1])
                    self._report("ready", url)
        code = process.wait()
        if process.stdin is not None:
            process.stdin.close()
        exited.set()
        if self._stopping:
            return
        how = "was killed" if code < 0 else f"exited with code {code}"
        last = self.stderr[-1] if self.stderr else ""
        self._report("exit", f"The bundled server {how}{': ' + last if last else '.'}")

    def _pump_stderr(self, pipe: IO[bytes]) -> None:
        with pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self.stderr.append(line)

    def _report(self, what: str, value: str) -> None:
        with self._lock:
            loop = self._loop
            if loop is None:
                self._early.append((what, value))
                return
        # A closed loop raises RuntimeError: nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._deliver, what, value)

    def _deliver(self, what: str, value: str) -> None:
        callback = self.on_ready if what == "ready" else self.on_exit
        if callback is not None:
            callback(value)

    # -- stopping -----------------------------------------------------------------

    async def stop(self, grace_s: float = 3.0) -> None:
        """Close the child's stdin (it exits on EOF); terminate, then kill, if not."""
        process = self._closing()
        if process is None:
            return
        for step in (process.terminate, process.kill, None):
            if await self._wait(grace_s):
                break
            if step is not None:
                step()
            grace_s = 1.0

    def stop_now(self, grace_s: float = 3.0) -> None:
        """``stop`` without a loop (the app's loop can no longer run): blocks."""
        process = self._closing()
        if process is None:
            return
        for step in (process.terminate, process.kill, None):
            if self._exited.wait(grace_s):
                break
            if step is not None:
                step()
            grace_s = 1.0

    def _closing(self) -> subprocess.Popen[bytes] | None:
        """The running child with its stdin closed (it exits on EOF), or None."""
        process = self.process
        if process is None or not self.running:
            return None
        self._stopping = True
        if process.stdin is not None:
            process.stdin.close()
        return process

    async def _wait(self, seconds: float) -> bool:
        import asyncio  # not at the top: spawning must not wait for asyncio's import

        deadline = asyncio.get_running_loop().time() + seconds
        while not self._exited.is_set():
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True
