"""The bundled server as a child process: start, read READY, notice death, stop.

``python -m server --port 0 --lab --watch-stdin`` prints ``READY <url>`` once it
listens, and exits when its stdin reaches EOF.  We keep that pipe open for the
child's whole life, so when this process ends in any way, even SIGKILL, the kernel
closes it and the child follows: no orphan.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

if TYPE_CHECKING:
    from collections.abc import Sequence

READY = "READY "


class BundledServer(QObject):
    """One child server at a time; :meth:`start` again after it died restarts it."""

    ready = Signal(str)  # the base URL, e.g. http://127.0.0.1:41234
    died = Signal(str)  # what to tell the user

    def __init__(self, args: Sequence[str] = (), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.args = tuple(args)
        self.url: str | None = None
        self.port = 0
        self._process: QProcess | None = None
        self._stopping = False
        self._stderr: deque[str] = deque(maxlen=20)
        self._finished: asyncio.Future[None] | None = None

    @property
    def running(self) -> bool:
        process = self._process
        return (
            process is not None and process.state() != QProcess.ProcessState.NotRunning
        )

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.processId()) or None

    def start(self, port: int | None = None) -> None:
        """Start the child, by default on the port it had (so URLs stay valid)."""
        if self.running:
            return
        process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(environment)
        process.setProgram(sys.executable)
        port = self.port if port is None else port
        process.setArguments(
            ["-m", "server", "--port", str(port), "--lab", "--watch-stdin", *self.args]
        )
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process, self._stopping, self.url = process, False, None
        self._stderr.clear()
        process.start()  # stdin stays open: the child's lifeline

    def _read_stdout(self) -> None:
        process = self._process
        if process is None:
            return
        while process.canReadLine():
            line = bytes(process.readLine().data()).decode("utf-8", "replace").strip()
            if line.startswith(READY) and self.url is None:
                self.url = line[len(READY) :].strip().rstrip("/")
                self.port = int(self.url.rsplit(":", 1)[-1])
                self.ready.emit(self.url)

    def _read_stderr(self) -> None:
        process = self._process
        if process is None:
            return
        text = bytes(process.readAllStandardError().data()).decode("utf-8", "replace")
        self._stderr.extend(line for line in text.splitlines() if line.strip())

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stderr()
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)
        if self._stopping:
            return
        how = (
            "crashed" if status is QProcess.ExitStatus.CrashExit else f"exited ({code})"
        )
        last = self._stderr[-1] if self._stderr else ""
        self.died.emit(f"The bundled server {how}{': ' + last if last else '.'}")

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error is QProcess.ProcessError.FailedToStart and not self._stopping:
            self.died.emit(
                f"The bundled server did not start: {sys.executable} -m server"
            )

    def stderr_tail(self) -> list[str]:
        return list(self._stderr)

    async def stop(self, grace_s: float = 3.0) -> None:
        """Close the child's stdin (it exits on EOF); terminate, then kill, if not."""
        process = self._process
        if process is None or not self.running:
            return
        self._stopping = True
        loop = asyncio.get_running_loop()
        self._finished = loop.create_future()
        process.closeWriteChannel()
        if not await self._wait(grace_s):
            process.terminate()
            if not await self._wait(1.0):
                process.kill()
                await self._wait(1.0)

    async def _wait(self, seconds: float) -> bool:
        assert self._finished is not None
        try:
            async with asyncio.timeout(seconds):
                await asyncio.shield(self._finished)
        except TimeoutError:
            return False
        return True
