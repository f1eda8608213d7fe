"""Scaled-down hostile-server probes of ``sse-viewer tail``, run as users run it.

Each probe plays a hostile server with the raw server on 127.0.0.1 and runs the
console script as a subprocess: terminal escapes in every field, a gzip
decompression bomb (Ctrl-C latency and peak RSS), a reconnect storm (attempts
per second with and without backoff) and a server that never answers.  Bounds
are loose (Ctrl-C within 5 s, RSS under 400 MB); the full-size figures come from
tests/benchmarks/bench_hostile_client.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from procstatus import status_kib
from rawserver import Hang, RawServer, Send, head, respond, sse

SSE_VIEWER = Path(sys.executable).parent / "sse-viewer"
ROOT = Path(__file__).resolve().parents[2]
MB = 1 << 20


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The console script runs the checkout under test, wherever it is installed from.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    for name in ("PYTHONUNBUFFERED", "FORCE_COLOR", "CLICOLOR_FORCE", "NO_COLOR"):
        env.pop(name, None)
    return env


def gzip(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


@dataclass
class Ended:
    returncode: int
    stderr: bytes
    interrupt_s: float  # from SIGINT to exit
    max_rss_mb: float  # the child's peak resident set (its VmHWM)


class _Drain:
    """Reads a pipe to the end in a thread, so that the child never blocks on a
    full pipe (a storm prints thousands of lines a second to stderr)."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.data = b""
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[bytes]) -> None:
        with pipe:
            while chunk := pipe.read1(65536):
                with self._changed:
                    self.data += chunk
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, marker: bytes, timeout: float = 10.0) -> None:
        with self._changed:
            ok = self._changed.wait_for(
                lambda: marker in self.data or not self._thread.is_alive(), timeout
            )
        assert ok and marker in self.data, f"no {marker!r} on stderr: {self.data!r}"

    def finish(self) -> bytes:
        self._thread.join(10)
        return self.data


def interrupt_after(
    args: list[str], marker: bytes, settle: float = 0.5, limit: float = 5.0
) -> Ended:
    """Run tail (stdout to /dev/null), wait for ``marker`` on stderr, let it work
    ``settle`` s, send SIGINT; the time it took to exit and its peak RSS.  A tail
    still running ``limit`` s after SIGINT is killed (and reported as such)."""
    proc = subprocess.Popen(
        [str(SSE_VIEWER), "tail", "--color", "never", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stderr is not None
    drain = _Drain(proc.stderr)
    # VmHWM, read while the child lives: getrusage's ru_maxrss of a child starts
    # from its parent's peak at exec on Linux, so in a long pytest run it reports
    # pytest's own size, not tail's.
    peak_kib = 0
    try:
        drain.wait_for(marker)
        time.sleep(settle)
        peak_kib = status_kib(proc.pid, "VmHWM")
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        deadline = sent + limit
        while True:
            with contextlib.suppress(OSError, RuntimeError):  # gone meanwhile
                peak_kib = max(peak_kib, status_kib(proc.pid, "VmHWM"))
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status = os.waitpid(proc.pid, 0)
                break
            time.sleep(0.01)
        took = time.monotonic() - sent
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
        err = drain.finish()
    return Ended(proc.returncode, err, took, peak_kib / 1024)


def tail(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(SSE_VIEWER), "tail", "--color", "never", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        env=_env(),
        check=False,
    )


# -- terminal escapes ----------------------------------------------------------

ESCAPES = (
    "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x08\x9b31m\u202eevil\u2066"
).encode()
# What must never reach the terminal raw: ESC, BEL, BS, CSI (C1), RLO, LRI (a CR
# cannot be in a field: it ends the line).
RAW = [b"\x1b", b"\x07", b"\x08", "\x9b".encode(), "\u202e".encode(), "\u2066".encode()]


def test_server_text_reaches_the_terminal_escaped() -> None:
    stream = (
        b"id: " + ESCAPES + b"\nevent: " + ESCAPES + b"\ndata: " + ESCAPES + b"\n\n"
        b": " + ESCAPES + b"\n"
        b"retry: " + ESCAPES + b"\n\n"  # a notice quoting it
        b"data: " + ESCAPES  # cut short: the discard notice names it
    )
    with RawServer([sse(stream)], default=respond(500, ESCAPES)) as server:
        done = tail(server.url(), "--comments", "--notices", "--retry", "10")
    assert done.returncode == 1, done
    for raw in RAW:
        assert raw not in done.stdout, (raw, done.stdout)
        assert raw not in done.stderr, (raw, done.stderr)
    assert b"\\x1b]0;pwned\\x07" in done.stdout  # shown, not swallowed
    assert b"\\u202eevil" in done.stdout
    assert b"\\x1b]0;pwned" in done.stderr  # the comment, on stderr


# -- decompression bombs ---------------------------------------------------------


def _bomb(unit: bytes, size: int) -> RawServer:
    body = gzip(unit * (size // len(unit)))
    script = (Send(head(headers=[("Content-Encoding", "gzip")])), Send(body), Hang())
    return RawServer([script])


def test_ctrl_c_stops_a_gzip_bomb_of_line_ends_at_once() -> None:
    with _bomb(b"\n", 24 * MB) as server:
        ended = interrupt_after([server.url()], b"open")
    assert ended.interrupt_s < 5, ended
    assert ended.returncode == 0, ended
    assert ended.max_rss_mb < 400, ended


def test_ctrl_c_stops_a_gzip_bomb_of_tiny_events_at_once() -> None:
    with _bomb(b"data: x\n\n", 24 * MB) as server:
        ended = interrupt_after([server.url(), "--quiet"], b"", settle=1.0)
    assert ended.interrupt_s < 5, ended
    assert ended.returncode == 0, ended
    assert ended.max_rss_mb < 400, ended


# -- reconnect storms -------------------------------------------------------------


def _storm(*args: str, seconds: float = 1.5) -> tuple[int, bytes]:
    """Attempts a server that answers 200, ``retry: 0`` and closes at once got."""
    with RawServer(default=sse(b"retry: 0\n\n")) as server:
        ended = interrupt_after([server.url(), *args], b"open", settle=seconds)
        attempts = len(server.connections)
    assert ended.returncode == 0, ended
    return attempts, ended.stderr


def test_backoff_holds_a_reconnect_storm_down() -> None:
    attempts, _ = _storm("--max-backoff", "5000")
    # 0, then about 125-250, 250-500, 500-1000 ms … : a handful in 1.5 s.
    assert attempts <= 8, attempts


def test_a_reconnect_storm_without_backoff_keeps_the_spec_and_is_noted() -> None:
    attempts, err = _storm("--notices", seconds=1.0)
    assert attempts >= 20, attempts  # retry: 0 is honoured: no floor without backoff
    notes = [line for line in err.splitlines() if b"note (reconnect-storm)" in line]
    assert notes, err[-2000:]
    assert len(notes) <= 2, notes  # said, not repeated per attempt


# -- a server that never answers -----------------------------------------------------


def test_headers_timeout_turns_silence_before_the_headers_into_a_reconnect() -> None:
    with RawServer([(Hang(),), (Hang(),)], default=(Hang(),)) as server:
        started = time.monotonic()
        done = tail(
            server.url(),
            "--format", "json", "--headers-timeout", "0.3", "--retry", "10",
            "--max-attempts", "1",
        )  # fmt: skip
        took = time.monotonic() - started
    records = [json.loads(line) for line in done.stdout.splitlines()]
    states = [r.get("state") for r in records]
    assert states == ["connecting", "reconnecting", "connecting", "closed"], records
    assert "0.3 s" in records[1]["reason"]
    assert done.returncode == 1
    assert took < 5
