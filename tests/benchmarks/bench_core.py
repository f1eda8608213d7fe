"""On-demand benchmark: the Qt-free engine (``desktop/core``) and ``sse-viewer tail``.

    python tests/benchmarks/bench_core.py            # full run, a few minutes at most
    python tests/benchmarks/bench_core.py --quick    # smaller sizes, a smoke run
    python tests/benchmarks/bench_core.py --profile  # also: where the time goes
    python tests/benchmarks/bench_core.py --rev HEAD # desktop/ as committed

It measures the engine's speed and memory (CONTRIBUTING.md, "Benchmarks"), all
in one run against one local server, and prints one table with absolute figures
beside the ratios (each figure the median of ``--runs`` runs, default 5, at
least 3):

1. Decoder alone: a ~50 MB in-memory stream of ~100-byte events fed in 64 KiB
   chunks, our ``Decoder`` against httpx-sse 0.4.3's pipeline as ``aiter_sse``
   runs it (httpx's ``TextDecoder``, ``SSELineDecoder``, ``SSEDecoder`` per line).
   The baseline loop is inlined, without ``aiter_sse``'s async generators: that
   is generous to it.  Timed in CPU time (wall time beside it).  Target: 2.5x.
2. End to end against a plain Starlette ``StreamingResponse`` on uvicorn in its
   own process, writing pre-formatted events in 256 KiB chunks and closing after
   exactly N.  Each consumer runs in a fresh process and counts N events:
   a minimal ``aiter_bytes`` client counting blank lines (the server's rate:
   it must outpace everyone), httpx-sse's documented ``aconnect_sse`` +
   ``aiter_sse`` loop (the baseline), our ``EventStream`` counting ``Event``
   records, and ``sse-viewer tail URL --format json --count N > /dev/null``
   timed from spawn to exit, startup included.  Tail's startup (``--count 1``)
   is reported on its own row.  Targets: engine >= 2x, tail >= 1.0x baseline.
3. Memory, read from ``/proc/self/status`` in the process running the engine
   (the server is another process): VmRSS sampled every 100k events over 1M
   events must stay within 10 MB; a 100 MB line without a line end must give an
   ``Error`` record with the peak (VmHWM) under 50 MB above the start (the server
   then ends the line and sends one small event, which must arrive).

Apart from the decoder runs, which need no server, the orchestrating process
only starts processes and waits, so that the server and the consumer each have
one of the machine's two cores; ``--child KIND ...`` is how it starts them.
The details under the table add each consumer's CPU time and minor page faults
per event (from ``RUSAGE_CHILDREN``), steadier than wall time on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import functools
import gc
import itertools
import json
import os
import platform
import pstats
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from httpx._decoders import TextDecoder
from httpx_sse import aconnect_sse
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

import desktop
from desktop.core.engine.decoder import Decoder
from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Error, Event
from desktop.core.engine.stream import EventStream

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator, Sequence

    from starlette.requests import Request
    from starlette.responses import Response

READ_CHUNK = 64 * 1024  # what httpcore asks of the socket per read
SERVER_CHUNK = 256 * 1024  # what the server writes at a time
BLOCK_EVENTS = 10_000  # the server repeats one pre-formatted block of events
MB = 1024 * 1024


def event_bytes(seq: int) -> bytes:
    """One ~100-byte event, as a ticker would send it."""
    return (
        b'id: %d\nevent: tick\ndata: {"seq":%d,"symbol":"ACME","price":101.25,'
        b'"qty":300,"side":"buy"}\n\n' % (seq, seq)
    )


# -- the server (a child process) ----------------------------------------------


class _Feed:
    """The server's pre-formatted bytes, so that it does no per-event work."""

    def __init__(self) -> None:
        events = [event_bytes(seq) for seq in range(BLOCK_EVENTS)]
        self.block = b"".join(events)
        self.chunks = list(_slices(self.block, SERVER_CHUNK))
        self.ends = list(itertools.accumulate(map(len, events)))
        self.filler = b"x" * SERVER_CHUNK

    async def events(self, count: int) -> AsyncIterator[bytes]:
        """Exactly ``count`` events (the block's ids repeat), then the end."""
        full, rest = divmod(count, BLOCK_EVENTS)
        for _ in range(full):
            for chunk in self.chunks:
                yield chunk
        if rest:
            for chunk in _slices(self.block[: self.ends[rest - 1]], SERVER_CHUNK):
                yield chunk

    async def line(self, size: int) -> AsyncIterator[bytes]:
        """``data: `` and ``size`` bytes with no line end, then one small event."""
        yield b"data: "
        full, rest = divmod(size, SERVER_CHUNK)
        for _ in range(full):
            yield self.filler
        if rest:
            yield self.filler[:rest]
        yield b"\n\ndata: after\n\n"


def _slices(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def serve() -> None:
    """Run the Starlette app on uvicorn; print the port once it accepts."""
    # Imported here so that the consumer processes do not load them: their RSS
    # and start-up are then the engine's own.
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, StreamingResponse
    from starlette.routing import Route

    feed = _Feed()

    async def events(request: Request) -> Response:
        count = int(request.query_params["n"])
        return StreamingResponse(feed.events(count), media_type="text/event-stream")

    async def line(request: Request) -> Response:
        size = int(request.query_params["size"])
        return StreamingResponse(feed.line(size), media_type="text/event-stream")

    async def ping(request: Request) -> Response:
        return PlainTextResponse("pong")

    app = Starlette(
        routes=[Route("/events", events), Route("/line", line), Route("/ping", ping)]
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections queue from now on, before uvicorn accepts
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    uvicorn.Server(config).run(sockets=[sock])


class Server:
    """The server child process, from start to a clean stop."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--child", "serve"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        port = self.process.stdout.readline().strip()
        if not port:
            self.stop()
            raise SystemExit("the benchmark server did not start")
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{self.base}/ping").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
            time.sleep(0.05)

    def events_url(self, count: int) -> str:
        return f"{self.base}/events?n={count}"

    def line_url(self, size: int) -> str:
        return f"{self.base}/line?size={size}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- reading RSS -----------------------------------------------------------------


def proc_status_kb(name: str) -> int:
    """A ``VmRSS``-like field of /proc/self/status, in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for row in status:
            if row.startswith(name + ":"):
                return int(row.split()[1])
    raise LookupError(name)


def rss_mb() -> float:
    return proc_status_kb("VmRSS") / 1024


# -- consumers (each in a child process) -----------------------------------------


def consume_socket(url: str, count: int) -> dict[str, float]:
    """The server alone: a raw socket reading the whole chunked body, no HTTP client."""
    parsed = httpx.URL(url)
    request = f"GET {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}\r\n\r\n"
    with socket.create_connection((parsed.host, parsed.port or 80)) as sock:
        start = time.perf_counter()
        sock.sendall(request.encode())
        received = 0
        tail = b""
        while not tail.endswith(b"\r\n0\r\n\r\n"):  # the last chunk
            data = sock.recv(READ_CHUNK)
            if not data:
                break
            received += len(data)
            tail = (tail + data)[-16:]
        elapsed = time.perf_counter() - start
    # The server writes exactly ``count`` events, then the end of the body.
    if received < count * len(event_bytes(0)):
        raise SystemExit(f"the raw socket got {received} bytes for {count} events")
    return {"events": count, "seconds": elapsed}


async def consume_bytes(url: str, count: int) -> dict[str, float]:
    """The server's rate: count blank lines on ``aiter_bytes``, nothing else."""
    seen = 0
    last = 0
    async with httpx.AsyncClient() as client:
        start = time.perf_counter()
        async with client.stream("GET", url) as response:
            async for chunk in response.aiter_bytes():
                seen += chunk.count(b"\n\n")
                if last == 10 and chunk[0] == 10:  # "\n" | "\n" across two reads
                    seen += 1
                last = chunk[-1]
                if seen >= count:
                    break
        elapsed = time.perf_counter() - start
    return {"events": seen, "seconds": elapsed}


async def consume_httpx_sse(url: str, count: int) -> dict[str, float]:
    """The baseline: httpx-sse's documented usage, a bare counting loop."""
    seen = 0
    async with httpx.AsyncClient() as client:
        start = time.perf_counter()
        async with aconnect_sse(client, "GET", url) as event_source:
            async for _sse in event_source.aiter_sse():
                seen += 1
                if seen >= count:
                    break
        elapsed = time.perf_counter() - start
    return {"events": seen, "seconds": elapsed}


async def consume_engine(
    url: str, count: int, every: int = 0
) -> dict[str, float | list[float]]:
    """Our engine: ``EventStream.batches()``, counting Event records.

    With ``every``, VmRSS is sampled each time the count passes a multiple of it.
    """
    seen = 0
    errors = 0
    samples: list[float] = []
    mark = every or count + 1
    options = StreamOptions(url, reconnect=False)  # the default 1 MiB limit
    async with httpx.AsyncClient() as client:
        rss_start = rss_mb()
        start = time.perf_counter()
        async with EventStream(options, client=client) as stream:
            async for batch in stream.batches():
                for record in batch:
                    if type(record) is Event:
                        seen += 1
                    elif type(record) is Error:
                        errors += 1
                if seen >= mark:
                    samples.append(rss_mb())
                    mark += every
                if seen >= count:
                    break
        elapsed = time.perf_counter() - start
    return {
        "events": seen,
        "errors": errors,
        "seconds": elapsed,
        "rss_start": rss_start,
        "rss": samples,
    }


async def consume_line(url: str) -> dict[str, float | list[str]]:
    """Our engine on the huge line: its records, and RSS peak above the start."""
    errors: list[str] = []
    events: list[str] = []
    async with httpx.AsyncClient() as client:
        rss_start = rss_mb()
        peak = rss_start
        start = time.perf_counter()
        async with EventStream(StreamOptions(url, reconnect=False), client=client) as s:
            async for batch in s.batches():
                for record in batch:
                    if type(record) is Error:
                        errors.append(record.message)
                    elif type(record) is Event:
                        events.append(record.data[:40])
                peak = max(peak, rss_mb())
        elapsed = time.perf_counter() - start
    hwm = proc_status_kb("VmHWM") / 1024  # catches peaks between two samples
    return {
        "seconds": elapsed,
        "rss_start": rss_start,
        "peak_above": max(peak, hwm) - rss_start,
        "errors": errors,
        "events": events,
    }


async def open_client() -> dict[str, float]:
    """Only what every consumer does besides consuming: a client, opened, closed."""
    async with httpx.AsyncClient():
        pass
    return {"seconds": 0.0}


def child(argv: Sequence[str]) -> None:
    """``--child KIND ...``: one measurement in this fresh process, JSON out."""
    kind, *rest = argv
    if kind == "serve":
        serve()
        return
    result: object
    if kind == "socket":
        result = consume_socket(rest[0], int(rest[1]))
    elif kind == "bytes":
        result = asyncio.run(consume_bytes(rest[0], int(rest[1])))
    elif kind == "httpx-sse":
        result = asyncio.run(consume_httpx_sse(rest[0], int(rest[1])))
    elif kind == "engine":
        result = asyncio.run(consume_engine(rest[0], int(rest[1]), int(rest[2])))
    elif kind == "line":
        result = asyncio.run(consume_line(rest[0]))
    elif kind == "noop":  # the start-up every consumer child pays
        result = asyncio.run(open_client())
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print(json.dumps(result))


def children_usage() -> tuple[float, int]:
    """CPU seconds (user + system) and minor page faults of waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_minflt


def run_child(*argv: str, timeout: float = 300) -> dict[str, object]:
    """Run ``--child ...``; its JSON result, with its ``cpu`` and ``faults``."""
    cpu, faults = children_usage()
    done = subprocess.run(
        [sys.executable, __file__, "--child", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child {argv} failed ({done.returncode}):\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    cpu_after, faults_after = children_usage()
    result.update(cpu=cpu_after - cpu, faults=faults_after - faults)
    return result


def number(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


def number_list(value: object) -> list[float]:
    assert isinstance(value, list)
    return [number(item) for item in value]


def sse_viewer() -> str:
    beside = Path(sys.executable).with_name("sse-viewer")
    found = str(beside) if beside.exists() else shutil.which("sse-viewer")
    if found is None:
        raise SystemExit("sse-viewer is not installed (pip install -e .)")
    return found


def run_tail(url: str, count: int, timeout: float = 300) -> dict[str, object]:
    """Wall time of ``sse-viewer tail URL --format json --count N > /dev/null``."""
    cpu, faults = children_usage()
    start = time.perf_counter()
    done = subprocess.run(
        [sse_viewer(), "tail", url, "--format", "json", "--count", str(count)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or done.stderr:
        raise SystemExit(f"tail failed ({done.returncode}):\n{done.stderr}")
    cpu_after, faults_after = children_usage()
    return {"seconds": elapsed, "cpu": cpu_after - cpu, "faults": faults_after - faults}


def check_tail(url: str, count: int) -> None:
    """Once: tail really prints ``count`` event records before ``closed``."""
    done = subprocess.run(
        [sse_viewer(), "tail", url, "--format", "json", "--count", str(count)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    records = [json.loads(row) for row in done.stdout.splitlines()]
    printed = sum(1 for record in records if record["type"] == "event")
    if printed != count or records[-1].get("state") != "closed":
        raise SystemExit(f"tail printed {printed} events, expected {count}")


# -- the decoder alone (in this process) -----------------------------------------


def make_stream(total: int) -> tuple[list[bytes], int]:
    """~``total`` bytes of events with distinct ids, cut in 64 KiB reads."""
    count = total // len(event_bytes(10**6))
    data = b"".join(map(event_bytes, range(count)))
    return list(_slices(data, READ_CHUNK)), count


def decode_ours(chunks: list[bytes]) -> int:
    decoder = Decoder()  # the engine's defaults: 1 MiB limit, no comments
    seen = 0
    for chunk in chunks:
        seen += len(decoder.feed(chunk))
    decoder.close()
    return seen


def decode_httpx_sse(chunks: list[bytes]) -> int:
    """httpx-sse's ``aiter_sse`` pipeline, inlined (no generators: generous)."""
    text_decoder = TextDecoder("utf-8")  # what ``Response.aiter_text`` uses
    line_decoder = SSELineDecoder()
    decoder = SSEDecoder()
    seen = 0
    for chunk in chunks:
        text = text_decoder.decode(chunk)
        if not text:
            continue
        for line in line_decoder.decode(text):
            if decoder.decode(line.rstrip("\n")) is not None:
                seen += 1
    for line in line_decoder.flush():
        if decoder.decode(line.rstrip("\n")) is not None:
            seen += 1
    return seen


def timed(
    run: Callable[[list[bytes]], int], chunks: list[bytes], count: int
) -> tuple[float, float]:
    """CPU and wall seconds of one decoding run.

    The decoder is pure computation in one thread: on an idle machine its CPU
    time is its wall time, and on a busy one CPU time leaves out the moments
    the scheduler gave the core to somebody else.
    """
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    seen = run(chunks)
    cpu, elapsed = time.process_time() - cpu, time.perf_counter() - start
    if seen != count:
        raise SystemExit(f"{run.__name__} decoded {seen} events, expected {count}")
    return cpu, elapsed


# -- the report ------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    name: str
    figure: str  # absolute: events/s, seconds, MB
    ratio: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""


@dataclasses.dataclass
class Report:
    rows: list[Row] = dataclasses.field(default_factory=list)
    details: list[str] = dataclasses.field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def print(self) -> None:
        heads = ("measure", "median", "ratio", "target", "", "note")
        table = [
            (
                r.name,
                r.figure,
                r.ratio,
                r.target,
                "" if r.ok is None else ("ok" if r.ok else "MISSED"),
                r.note,
            )
            for r in self.rows
        ]
        widths = [max(len(row[i]) for row in [heads, *table]) for i in range(5)]
        for row in [heads, *table]:
            cells = [
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            ]
            print("  ".join([*cells, row[5]]).rstrip())
        if self.details:
            print()
            print("\n".join(self.details))


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds / 1e6:.3f} M ev/s"


def spread(values: Sequence[float]) -> str:
    return " ".join(f"{value:.3g}" for value in values)


def paired(base: Sequence[float], ours: Sequence[float]) -> str:
    """Each round's ratio, base time over ours: noise of a moment hits both."""
    ratios = [b / o for b, o in zip(base, ours, strict=True)]
    each = " ".join(f"{ratio:.2f}" for ratio in ratios)
    return f"{each} (median {statistics.median(ratios):.2f})"


@dataclasses.dataclass
class Sizes:
    decoder_bytes: int
    events: int  # end to end
    memory_events: int
    memory_every: int
    line_bytes: int
    runs: int


FULL = Sizes(50 * MB, 1_000_000, 1_000_000, 100_000, 100 * MB, 5)
QUICK = Sizes(5 * MB, 100_000, 200_000, 20_000, 10 * MB, 3)


def bench_decoder(sizes: Sizes, report: Report) -> None:
    chunks, count = make_stream(sizes.decoder_bytes)
    ours: list[float] = []
    theirs: list[float] = []
    ours_wall: list[float] = []
    theirs_wall: list[float] = []
    for _ in range(sizes.runs):  # interleaved, so that noise hits both alike
        cpu, wall = timed(decode_ours, chunks, count)
        ours.append(cpu)
        ours_wall.append(wall)
        cpu, wall = timed(decode_httpx_sse, chunks, count)
        theirs.append(cpu)
        theirs_wall.append(wall)
    mine, base = statistics.median(ours), statistics.median(theirs)
    wall_ratio = statistics.median(theirs_wall) / statistics.median(ours_wall)
    size = sum(map(len, chunks)) / MB
    report.add(
        Row("1. decoder: httpx-sse SSELineDecoder+SSEDecoder", rate(count, base))
    )
    report.add(
        Row(
            "1. decoder: ours (Decoder.feed)",
            rate(count, mine),
            f"{base / mine:.2f}x",
            ">= 2.5x",
            base / mine >= 2.5,
            f"CPU time; {count:,} events, {size:.1f} MB, {len(chunks)} reads "
            f"of 64 KiB; wall-time ratio {wall_ratio:.2f}x",
        )
    )
    report.details += [
        f"decoder runs (CPU s): ours {spread(ours)}; httpx-sse {spread(theirs)}; "
        f"paired ratios {paired(theirs, ours)}",
        f"decoder runs (wall s): ours {spread(ours_wall)}; httpx-sse "
        f"{spread(theirs_wall)}",
        f"decoder per event: ours {mine / count * 1e6:.3f} us, "
        f"httpx-sse {base / count * 1e6:.3f} us",
    ]


def bench_end_to_end(server: Server, sizes: Sizes, report: Report) -> None:
    count = sizes.events
    url = server.events_url(count)
    check_tail(server.events_url(1000), 1000)
    names = ("socket", "bytes", "httpx-sse", "engine", "tail", "startup", "noop")
    seconds: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    faults: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(sizes.runs):  # one round of every consumer per run
        for name in names:
            if name == "tail":
                result = run_tail(url, count)
            elif name == "startup":
                result = run_tail(server.events_url(1000), 1)
            elif name == "noop":
                result = run_child("noop")
            else:
                args = (url, str(count)) + (("0",) if name == "engine" else ())
                result = run_child(name, *args)
                if result["events"] != count:
                    raise SystemExit(f"{name} counted {result['events']}, not {count}")
            seconds[name].append(number(result["seconds"]))
            cpu[name].append(number(result["cpu"]))
            faults[name].append(number(result["faults"]))
    med = {name: statistics.median(values) for name, values in seconds.items()}
    base = med["httpx-sse"]
    tail_net = med["tail"] - med["startup"]
    report.add(
        Row(
            "2. server: raw socket reader",
            rate(count, med["socket"]),
            f"{base / med['socket']:.2f}x",
            note="uvicorn + Starlette StreamingResponse, no HTTP client",
        )
    )
    report.add(
        Row(
            "2. server: aiter_bytes counting client",
            rate(count, med["bytes"]),
            f"{base / med['bytes']:.2f}x",
            "> engine",
            med["bytes"] < med["engine"],
            "proves the server is not the limit",
        )
    )
    report.add(Row("2a. baseline: aconnect_sse + aiter_sse", rate(count, base)))
    report.add(
        Row(
            "2b. engine: EventStream.batches()",
            rate(count, med["engine"]),
            f"{base / med['engine']:.2f}x",
            ">= 2x",
            base / med["engine"] >= 2,
            f"{count:,} events",
        )
    )
    report.add(
        Row(
            "2c. tail --format json > /dev/null",
            rate(count, med["tail"]),
            f"{base / med['tail']:.2f}x",
            ">= 1.0x",
            base / med["tail"] >= 1.0,
            f"wall from spawn to exit: {med['tail']:.2f} s, startup included",
        )
    )
    report.add(Row("2d. tail startup (--count 1)", f"{med['startup']:.3f} s"))
    report.add(
        Row(
            "2e. tail minus its startup (info)",
            rate(count, tail_net),
            f"{base / tail_net:.2f}x",
            note="not the measure; shows the per-event cost",
        )
    )
    report.details += [
        f"end-to-end runs (s): {name} {spread(values)}"
        for name, values in seconds.items()
        if name != "noop"
    ]
    base_runs = seconds["httpx-sse"]
    report.details.append(
        f"paired ratios per round: engine {paired(base_runs, seconds['engine'])}; "
        f"tail {paired(base_runs, seconds['tail'])}"
    )
    report.details.append(
        "per event (us): "
        + ", ".join(
            f"{name} {med[name] / count * 1e6:.3f}"
            for name in ("bytes", "httpx-sse", "engine")
        )
        + f", tail minus startup {tail_net / count * 1e6:.3f}"
    )
    # CPU time is less noisy than wall time on a shared machine; minor page
    # faults are costly in this VM (a few us each), so they are worth watching.
    whole = {name: statistics.median(cpu[name]) for name in names}
    net = {
        name: (whole[name] - whole["startup" if name == "tail" else "noop"]) / count
        for name in names[1:5]
    }
    flt = {name: statistics.median(faults[name]) for name in names}
    report.details.append(
        "CPU per event, process start-up taken off (us): "
        + ", ".join(f"{name} {net[name] * 1e6:.3f}" for name in names[1:5])
        + f"; CPU ratios: engine {net['httpx-sse'] / net['engine']:.2f}x, tail "
        f"{net['httpx-sse'] / net['tail']:.2f}x (start-up included: "
        f"{whole['httpx-sse'] / whole['tail']:.2f}x); start-up CPU: consumer "
        f"{whole['noop']:.3f} s, tail --count 1 {whole['startup']:.3f} s"
    )
    report.details.append(
        "minor page faults per event (start-up included): "
        + ", ".join(f"{name} {flt[name] / count:.3f}" for name in names[1:5])
        + f"; tail --count 1: {flt['startup']:.0f} faults"
    )


def bench_memory(server: Server, sizes: Sizes, report: Report) -> None:
    flat: list[float] = []
    growth: list[float] = []
    line_peak: list[float] = []
    line_seconds: list[float] = []
    refused = True
    for _ in range(sizes.runs):
        result = run_child(
            "engine",
            server.events_url(sizes.memory_events),
            str(sizes.memory_events),
            str(sizes.memory_every),
        )
        samples = number_list(result["rss"])
        flat.append(max(samples) - min(samples))
        growth.append(max(samples) - number(result["rss_start"]))
        report.details.append(
            f"RSS (MB) at start {number(result['rss_start']):.1f}, then every "
            f"{sizes.memory_every:,} events: {' '.join(f'{s:.1f}' for s in samples)}"
        )
        line = run_child("line", server.line_url(sizes.line_bytes))
        errors = line["errors"]
        events = line["events"]
        refused = refused and bool(errors) and events == ["after"]
        line_peak.append(number(line["peak_above"]))
        line_seconds.append(number(line["seconds"]))
        report.details.append(
            f"{sizes.line_bytes // MB} MB line: errors {errors}, events {events}, "
            f"peak {line_peak[-1]:.1f} MB above start, {line_seconds[-1]:.2f} s"
        )
    report.add(
        Row(
            f"3a. engine RSS over {sizes.memory_events:,} events",
            f"{statistics.median(flat):.1f} MB",
            target="<= 10 MB",
            ok=max(flat) <= 10,
            note=f"max-min of samples every {sizes.memory_every:,}; worst "
            f"{max(flat):.1f} MB; growth from start {statistics.median(growth):.1f} MB",
        )
    )
    report.add(
        Row(
            f"3b. {sizes.line_bytes // MB} MB line, no line end: RSS peak",
            f"{statistics.median(line_peak):.1f} MB",
            target="< 50 MB + Error",
            ok=refused and max(line_peak) < 50,
            note=f"above start (VmHWM); Error record and next event: "
            f"{'yes' if refused else 'NO'}; {statistics.median(line_seconds):.2f} s",
        )
    )


# -- profiles (--profile) --------------------------------------------------------


def profile(server: Server, sizes: Sizes) -> None:
    """Where our decoder, our engine and tail spend their time, per event."""
    chunks, count = make_stream(sizes.decoder_bytes)
    total = statistics.median(timed(decode_ours, chunks, count)[0] for _ in range(3))
    start = time.process_time()
    for chunk in chunks:  # the least any decoder must do: decode UTF-8
        chunk.decode("utf-8", "replace")
    decode = time.process_time() - start
    start = time.process_time()
    for seq in range(count):  # and build one record an event
        Event("tick", "data", str(seq), None, 1, 0.0, 0.0)
    build = time.process_time() - start
    per = 1e6 / count
    print(
        f"\ndecoder per event: {total * per:.3f} us = bytes.decode "
        f"{decode * per:.3f} + Event() with its loop {build * per:.3f} + the "
        f"rest (finding lines and fields) {(total - decode - build) * per:.3f}"
    )
    print("\n-- cProfile: Decoder.feed over the decoder stream")
    stats = pstats.Stats(_profiler(decode_ours, chunks))
    stats.sort_stats("tottime").print_stats(12)
    url = server.events_url(sizes.events)
    print(f"-- cProfile: EventStream consuming {sizes.events:,} events")
    run = functools.partial(asyncio.run, consume_engine(url, sizes.events))
    stats = pstats.Stats(_profiler(run))
    stats.sort_stats("tottime").print_stats(14)
    print(f"-- cProfile: sse-viewer tail --format json --count {sizes.events:,}")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder, "tail.prof")
        cpu, faults = children_usage()
        command = [sys.executable, "-m", "cProfile", "-o", str(out), sse_viewer()]
        subprocess.run(
            [*command, "tail", url, "--format", "json", "--count", str(sizes.events)],
            stdout=subprocess.DEVNULL,
            cwd=folder,  # ``-m`` puts the working directory first on sys.path
            timeout=300,
            check=True,
        )
        cpu_after, faults_after = children_usage()
        print(
            f"(whole process under cProfile: {cpu_after - cpu:.2f} s CPU, "
            f"{(faults_after - faults) / sizes.events:.3f} minor faults an event)"
        )
        pstats.Stats(str(out)).sort_stats("tottime").print_stats(14)


def _profiler(run: Callable[..., object], *args: object) -> cProfile.Profile:
    profiler = cProfile.Profile()
    profiler.runcall(run, *args)
    return profiler


# -- main --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
_PINNED = "BENCH_CORE_REV"  # set in the environment of a run made by --rev


def at_revision(rev: str, argv: Sequence[str]) -> int:
    """Run this benchmark again with ``desktop/`` exported from ``rev`` first on
    PYTHONPATH: every child, ``sse-viewer tail`` included, then imports it."""
    commit = git("rev-parse", "--short", rev).strip()
    with tempfile.TemporaryDirectory(prefix="bench-core-") as folder:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "desktop"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        path = os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, _PINNED: commit}
        return subprocess.call([sys.executable, __file__, *argv], env=env)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def engine_source() -> str:
    """Which ``desktop`` this run measures."""
    where = Path(desktop.__file__).parent
    if _PINNED in os.environ:
        return f"desktop/ at commit {os.environ[_PINNED]} (exported to {where})"
    head = git("rev-parse", "--short", "HEAD").strip()
    dirty = git("status", "--porcelain", "--", "desktop").strip()
    state = "with uncommitted changes in desktop/" if dirty else "clean"
    return f"the working tree {where}, HEAD {head}, {state}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--runs", type=int, help="runs per figure (default 5, quick 3)")
    parser.add_argument("--profile", action="store_true", help="also profile ours")
    parser.add_argument(
        "--rev",
        help="measure desktop/ as committed at this git revision (e.g. HEAD) "
        "instead of the shared working tree, which others may be editing",
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return
    if args.rev:
        again = ["--quick"] * args.quick + ["--profile"] * args.profile
        if args.runs is not None:
            again += ["--runs", str(args.runs)]
        sys.exit(at_revision(args.rev, again))
    sizes = QUICK if args.quick else FULL
    if args.runs is not None:
        sizes = dataclasses.replace(sizes, runs=max(3, args.runs))
    report = Report()
    began = time.perf_counter()
    load = os.getloadavg()
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load "
        f"{load[0]:.2f}; httpx {version('httpx')}, httpx-sse {version('httpx-sse')}, "
        f"uvicorn {version('uvicorn')}, starlette {version('starlette')}; "
        f"event {len(event_bytes(500_000))} bytes; median of {sizes.runs} runs\n"
        f"engine measured: {engine_source()}",
        flush=True,
    )
    bench_decoder(sizes, report)
    server = Server()
    try:
        bench_end_to_end(server, sizes, report)
        bench_memory(server, sizes, report)
        print()
        report.print()
        load = os.getloadavg()
        print(
            f"\nload at the end {load[0]:.2f}; took {time.perf_counter() - began:.0f} s"
        )
        if args.profile:
            profile(server, sizes)
    finally:
        server.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
