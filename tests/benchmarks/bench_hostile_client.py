"""On-demand benchmark: ``sse-viewer tail`` against hostile servers, full size.

    python tests/benchmarks/bench_hostile_client.py             # about a minute
    python tests/benchmarks/bench_hostile_client.py --quick     # smaller, a smoke run
    python tests/benchmarks/bench_hostile_client.py --root DIR  # another checkout

The scaled-down versions run in tests/hostile/test_client_probes.py.  Each probe
plays a server with tests/rawserver.py on 127.0.0.1 and runs the console script
as a subprocess (stdout to /dev/null, so printing is in the cost), with
``PYTHONPATH`` set to the checkout under test (``--root``, default this one):

1. Decompression bombs: a gzip body that is one network read (~64 KB) and
   expands to 64 MB, of line ends and of tiny events (``data: x``), sent
   ``--reads`` times.  SIGINT goes 1 s after the ``open`` line; the table gives
   the time to exit (Ctrl-C latency; a tail still running 60 s later is
   killed) and the child's peak RSS (``getrusage`` of that child).
2. Reconnect storms: a server answering 200, ``retry: 0`` and closing at once,
   for ``--storm`` seconds, without and with ``--max-backoff 5000``: attempts per
   second, and whether ``--notices`` printed a reconnect-storm note.
3. A server that accepts and never answers: seconds until tail's first
   ``reconnecting`` with the default headers timeout shortened to 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for rawserver

from rawserver import Hang, RawServer, Send, head, sse  # noqa: E402

SSE_VIEWER = Path(sys.executable).parent / "sse-viewer"
MB = 1 << 20


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root)
    for name in ("PYTHONUNBUFFERED", "FORCE_COLOR", "CLICOLOR_FORCE", "NO_COLOR"):
        env.pop(name, None)
    return env


def _gzip_reads(unit: bytes, size: int, reads: int) -> bytes:
    """One gzip member: ``reads`` flushed blocks of ``size`` bytes of ``unit``."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = unit * (size // len(unit))
    out = [c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH) for _ in range(reads)]
    return b"".join(out) + c.flush()


def _interrupt(
    root: Path, args: list[str], settle: float, limit: float = 60.0
) -> tuple[float, float, bytes, bool]:
    """(seconds from SIGINT to exit, peak RSS MB, stderr, killed).

    stderr is drained by a thread all along: a storm prints thousands of lines
    a second, and a full pipe would block tail, not the engine, in its writes.
    """
    proc = subprocess.Popen(
        [str(SSE_VIEWER), "tail", "--color", "never", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_env(root),
    )
    assert proc.stderr is not None
    chunks: list[bytes] = []
    opened = threading.Event()

    def drain(pipe: IO[bytes]) -> None:
        with pipe:
            while chunk := pipe.read1(65536):
                chunks.append(chunk)
                if b"open" in b"".join(chunks[-2:]):
                    opened.set()
        opened.set()

    reader = threading.Thread(target=drain, args=(proc.stderr,), daemon=True)
    reader.start()
    opened.wait(30)
    time.sleep(settle)
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - sent > limit:
            proc.kill()
            killed = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.005)
    took = time.monotonic() - sent
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(10)
    return took, usage.ru_maxrss / 1024, b"".join(chunks), killed


def bomb(root: Path, unit: bytes, size: int, reads: int) -> dict[str, object]:
    body = _gzip_reads(unit, size, reads)
    script = (Send(head(headers=[("Content-Encoding", "gzip")])), Send(body), Hang())
    with RawServer([script]) as server:
        took, rss, _, killed = _interrupt(root, [server.url()], 1.0)
    return {
        "compressed KB": round(len(body) / 1024),
        "expands to MB": size * reads // MB,
        "Ctrl-C s": round(took, 3),
        "peak RSS MB": round(rss),
        "killed": killed,
    }


def storm(root: Path, seconds: float, *args: str) -> dict[str, object]:
    with RawServer(default=sse(b"retry: 0\n\n")) as server:
        took, rss, err, _ = _interrupt(
            root, [server.url(), "--notices", *args], seconds
        )
        attempts = len(server.connections)
    return {
        "attempts/s": round(attempts / seconds, 1),
        "attempts": attempts,
        "storm noted": b"reconnect-storm" in err,
        "Ctrl-C s": round(took, 3),
        "peak RSS MB": round(rss),
    }


def silent(root: Path) -> dict[str, object]:
    with RawServer(default=(Hang(),)) as server:
        proc = subprocess.Popen(
            [str(SSE_VIEWER), "tail", "--format", "json", server.url(),
             "--headers-timeout", "2", "--retry", "100"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(root),
        )  # fmt: skip
        assert proc.stdout is not None
        started = time.monotonic()
        seen = None
        try:
            while time.monotonic() - started < 10:
                line = proc.stdout.readline()
                if not line:
                    break
                if json.loads(line).get("state") == "reconnecting":
                    seen = time.monotonic() - started
                    break
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
    return {"first reconnect s": None if seen is None else round(seen, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--root", type=Path, default=HERE.parents[2])
    parser.add_argument("--reads", type=int, default=4)
    parser.add_argument("--storm", type=float, default=5.0)
    args = parser.parse_args()
    size, reads, seconds = (
        (16 * MB, 2, 2.0) if args.quick else (64 * MB, args.reads, args.storm)
    )
    root = args.root.resolve()
    rows: list[tuple[str, dict[str, object]]] = [
        ("bomb: line ends", bomb(root, b"\n", size, reads)),
        ("bomb: tiny events", bomb(root, b"data: x\n\n", size, reads)),
        ("storm: no backoff", storm(root, seconds)),
        ("storm: --max-backoff 5000", storm(root, seconds, "--max-backoff", "5000")),
        ("never answers (2 s)", silent(root)),
    ]
    print(f"sse-viewer tail against hostile servers ({root})")
    width = max(len(name) for name, _ in rows)
    for name, figures in rows:
        cells = ", ".join(f"{k}: {v}" for k, v in figures.items())
        print(f"  {name:<{width}}  {cells}")


if __name__ == "__main__":
    main()
