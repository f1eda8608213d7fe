"""Workers: ``serve --workers N`` runs N server processes on one listening socket.

The parent binds the socket (port 0 works, as with one process), spawns N workers
that each run the whole server (`create_app` + `runner.make_server`) on an
inherited copy of it, prints the READY line once all N said they are up, replaces
a worker that dies, and on SIGTERM/SIGINT (or stdin EOF with ``--watch-stdin``)
stops them all: each drains its streams within ``shutdown_timeout_s``, a straggler
is killed a second after that.  The kernel hands each new connection to one of
the processes accepting on the shared socket.

This follows uvicorn's own supervisor (``uvicorn.supervisors.Multiprocess``:
spawned processes, the parent's sockets passed down, dead workers replaced) but
does not use it: its workers run a plain ``uvicorn.Server`` built from a
``uvicorn.Config`` (the app as an import string, settings through the
environment), so they would lose what `runner.Server` adds (streams ended before
uvicorn's graceful wait, the connection guard, the READY hook), and its parent has
no hook to say READY once every worker is up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.heap import tune_gc
from server.runner import TlsFiles, log_config_at, make_server, on_stdin_eof, url_of
from server.workerid import worker_id

if TYPE_CHECKING:
    import socket
    from multiprocessing.context import SpawnProcess
    from types import FrameType

    from server.settings import Settings

_spawn = multiprocessing.get_context("spawn")
KILL_AFTER_S = 1.0  # past the drain time, a worker still running is killed
RESPAWN_MAX_S = 30.0  # longest pause before replacing a worker that cannot start
START_TIMEOUT_S = 60.0  # every worker must be up by then


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker needs to build its server; pickled to the spawned process."""

    settings: Settings
    log_level: str = "INFO"
    tls: TlsFiles | None = None


def run_worker(spec: WorkerSpec, number: int, sock: socket.socket, ready: Any) -> None:
    """A worker's main (in the spawned process): serve ``sock`` until SIGTERM."""
    from server.app import create_app  # the app's imports, in the worker only

    name = worker_id(number)
    settings = dataclasses.replace(spec.settings, worker_id=name)
    app = create_app(settings)

    def up() -> None:
        tune_gc()
        ready.put(name)

    server = make_server(
        app,
        shutdown_timeout_s=settings.shutdown_timeout_s,
        on_ready=up,
        log_config=log_config_at(spec.log_level),
        tls=spec.tls,
    )
    asyncio.run(server.serve(sockets=[sock]))


@dataclass(slots=True)
class _Slot:
    number: int
    process: SpawnProcess
    ready: bool = False
    failures: int = 0  # replacements in a row that died before they were ready
    replace_at: float | None = None  # dead: when its replacement starts


class Supervisor:
    """Starts, watches and stops the workers; `run` returns the exit status."""

    def __init__(
        self, spec: WorkerSpec, sock: socket.socket, count: int, *, watch: bool
    ) -> None:
        self._spec = spec
        self._sock = sock
        self._count = count
        self._watch = watch
        self._ready: Any = _spawn.Queue()
        self._slots: list[_Slot] = []
        self._stop = threading.Event()

    def _start(self, number: int) -> _Slot:
        process = _spawn.Process(
            target=run_worker,
            args=(self._spec, number, self._sock, self._ready),
            name=f"sse-viewer worker {number}",
        )
        process.start()
        return _Slot(number, process)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def _take_ready(self, timeout: float) -> None:
        """Mark the workers that said they are up (waiting ``timeout`` at most)."""
        try:
            name: str = self._ready.get(timeout=timeout)
        except queue.Empty:
            return
        number = int(name[1:].partition("-")[0])
        for slot in self._slots:
            if slot.number == number and not slot.ready:
                slot.ready = True
                print(f"worker {name} ready", file=sys.stderr, flush=True)

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            return self._run()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self) -> int:
        if self._watch:
            on_stdin_eof(self._stop.set)
        self._slots = [self._start(n) for n in range(1, self._count + 1)]
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(slot.ready for slot in self._slots):
            if self._stop.is_set():
                return 0
            dead = [s for s in self._slots if not s.process.is_alive()]
            if dead or time.monotonic() > deadline:
                what = f"worker w{dead[0].number} exited" if dead else "timed out"
                print(f"error: the workers did not start: {what}", file=sys.stderr)
                return 1
            self._take_ready(0.1)
        tls = self._spec.tls is not None
        print(f"READY {url_of(self._sock, tls=tls)}", flush=True)
        while not self._stop.is_set():
            self._take_ready(0.1)
            for i, slot in enumerate(self._slots):
                if not slot.process.is_alive() and not self._stop.is_set():
                    self._slots[i] = self._replace(slot)
        return 0

    def _replace(self, slot: _Slot) -> _Slot:
        """The slot of a dead worker: a new process in it, now or when its pause
        is over.  One that died before it was ready (Redis away, say) waits a
        pause that doubles each time, so a worker that cannot start does not spin.
        """
        if slot.replace_at is None:
            slot.process.join()
            slot.failures = 0 if slot.ready else slot.failures + 1
            pause = min(RESPAWN_MAX_S, 0.5 * 2**slot.failures) if slot.failures else 0
            slot.replace_at = time.monotonic() + pause
            print(
                f"worker w{slot.number} died (exit {slot.process.exitcode}): "
                f"replacing it{f' in {pause:g} s' if pause else ''}",
                file=sys.stderr,
                flush=True,
            )
        if time.monotonic() < slot.replace_at:
            return slot
        fresh = self._start(slot.number)
        fresh.failures = slot.failures
        return fresh

    def _stop_all(self) -> None:
        """SIGTERM to every worker; kill any still running after the drain time."""
        for slot in self._slots:
            if slot.process.is_alive():
                slot.process.terminate()
        deadline = (
            time.monotonic() + self._spec.settings.shutdown_timeout_s + KILL_AFTER_S
        )
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
        self._ready.close()
        self._ready.join_thread()
