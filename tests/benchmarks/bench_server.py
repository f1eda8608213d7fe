"""Server benchmark: speed and scale, run on demand; prints a table.

    .venv/bin/python tests/benchmarks/bench_server.py [--quick]

Each server runs in its own child process (one uvicorn worker), so its CPU and
memory are measured apart from the clients.  Baselines are the libraries'
documented usage, measured in the same run:

- fan-out: sse-starlette's ``EventSourceResponse`` over an async generator that
  yields ``{"event": ..., "data": ...}`` dicts from a per-client ``asyncio.Queue``;
- ticker: Starlette's ``StreamingResponse`` yielding one pre-formatted event per
  iteration, and sse-starlette yielding one ``ServerSentEvent`` per event.

Ours runs with ``serve`` defaults (lab off, ping 15 s, access log on); a bench-only
route publishes ``bench`` events on the all-events topic through the broker.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable

    from fastapi import FastAPI

HOST = "127.0.0.1"
TICK_SIZE = 32


# -- child servers --------------------------------------------------------------------


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(4096)
    return sock


async def _publisher(publish: object, rate: float, seconds: float) -> None:
    """Publish ``rate * seconds`` ``bench`` events on a fixed schedule.

    ``t`` is the event's scheduled wall time, so a server too busy to keep the
    schedule shows it as latency instead of hiding it in a late timestamp.
    """
    assert callable(publish)
    start, wall = time.monotonic(), time.time()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        await publish(json.dumps({"t": wall + n / rate, "n": n}))


class GcPauses:
    """The garbage collector's pauses in this process, since the last ``take()``:
    a tail of hundreds of ms is often one full collection (server/heap.py)."""

    def __init__(self) -> None:
        self._started = 0.0
        self.full = 0
        self.full_max_ms = 0.0
        self.total_ms = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._started) * 1000
        self.total_ms += ms
        if info["generation"] == 2:
            self.full += 1
            self.full_max_ms = max(self.full_max_ms, ms)

    def take(self) -> dict[str, float]:
        """The pauses so far (full collections, the longest, all summed); reset."""
        taken = {
            "tracked": float(len(gc.get_objects())),
            "full": float(self.full),
            "full_max_ms": self.full_max_ms,
            "total_ms": self.total_ms,
        }
        self.full, self.full_max_ms, self.total_ms = 0, 0.0, 0.0
        return taken


def _bench_app(lab: bool = False, broker_url: str | None = None) -> FastAPI:
    """Our app with `serve` defaults (lab off) and the bench-only publish route;
    the Redis broker when a URL is given."""
    from server.app import create_app
    from server.jobs import EVENTS_TOPIC
    from server.settings import Settings

    # `serve` defaults (lab off; the Redis broker when a URL is given);
    # BENCH_BATCH_BYTES shrinks the largest write, so that a write holds one tick
    # (see `lab_on_off`).
    settings = Settings(lab=lab, broker_url=broker_url, redis_prefix="bench:")
    if "BENCH_BATCH_BYTES" in os.environ:
        settings = replace(settings, batch_bytes=int(os.environ["BENCH_BATCH_BYTES"]))
    app = create_app(settings)
    tasks: set[asyncio.Task[None]] = set()

    @app.post("/bench/burst")
    async def burst(count: int) -> dict[str, float]:
        """Publish ``count`` events one after the other: the broker's throughput."""
        broker = app.state.runtime.broker
        started = time.perf_counter()
        for n in range(count):
            await broker.publish(EVENTS_TOPIC, "burst", json.dumps({"n": n}))
        return {"seconds": time.perf_counter() - started}

    @app.post("/bench/start")
    async def start(rate: float, seconds: float) -> dict[str, str]:
        broker = app.state.runtime.broker

        async def publish(data: str) -> None:
            await broker.publish(EVENTS_TOPIC, "bench", data)

        task = asyncio.create_task(_publisher(publish, rate, seconds))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return {"ok": "started"}

    pauses = GcPauses()

    @app.post("/bench/gc")
    async def gc_pauses() -> dict[str, float]:
        """This server's collection pauses since the last call."""
        return pauses.take()

    return app


def serve_ours_h2() -> None:
    """Ours as ``serve --tls --http2`` runs it: Hypercorn, h2 and HTTP/1.1 by ALPN.

    Its certificate comes from the local CA in ``$SSE_VIEWER_CONFIG_DIR``
    (server/certs.py), which the measuring side trusts.
    """
    from server import certs, hyper
    from server.runner import LOG_CONFIG, TlsFiles, bind, url_of
    from server.settings import Settings

    local = certs.local_cert()
    sock = bind(HOST, 0)
    hyper.serve(
        _bench_app(),
        sock,
        tls=TlsFiles(str(local.cert_file), str(local.key_file)),
        settings=Settings(),
        watch=True,
        timeout_s=2.0,
        url=url_of(sock, tls=True),
        log_config=LOG_CONFIG,
    )


def serve_ours(lab: bool = False, broker_url: str | None = None) -> None:
    import uvicorn

    from server.heap import tune_gc
    from server.runner import LOG_CONFIG, Server, bind, url_of, watch_stdin

    app = _bench_app(lab, broker_url)
    sock = bind(HOST, 0)
    config = uvicorn.Config(app, access_log=False, log_config=LOG_CONFIG, ws="none")

    def ready() -> None:  # as server/runner.py's serve() does
        tune_gc()
        print(f"READY {url_of(sock)}", flush=True)

    server = Server(config, app, on_ready=ready)
    watch_stdin(server)  # stop by closing stdin: a clean exit, so a profile is written
    profile = os.environ.get("BENCH_PROFILE")
    if profile:  # BENCH_PROFILE=file.prof: where the server's time goes
        import cProfile

        cProfile.runctx(
            "asyncio.run(server.serve(sockets=[sock]))", globals(), locals(), profile
        )
    else:
        asyncio.run(server.serve(sockets=[sock]))


def serve_baseline() -> None:
    import uvicorn
    from fastapi import FastAPI
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.responses import StreamingResponse

    from server.ticker import tick_data, tick_frames

    app = FastAPI()
    queues: set[asyncio.Queue[dict[str, str]]] = set()
    tasks: set[asyncio.Task[None]] = set()

    @app.get("/api/events")
    async def events() -> EventSourceResponse:
        queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        queues.add(queue)

        async def gen():  # type: ignore[no-untyped-def]
            try:
                while True:
                    yield await queue.get()
            finally:
                queues.discard(queue)

        return EventSourceResponse(gen())

    @app.post("/bench/start")
    async def start(rate: float, seconds: float) -> dict[str, str]:
        async def publish(data: str) -> None:
            for queue in queues:
                queue.put_nowait({"event": "bench", "data": data})

        task = asyncio.create_task(_publisher(publish, rate, seconds))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return {"ok": "started"}

    @app.get("/stream")
    async def stream(count: int, size: int) -> StreamingResponse:
        frames = [tick_frames(i, i + 1, size) for i in range(min(count, 100_000))]

        async def gen():  # type: ignore[no-untyped-def]
            for i in range(count):
                yield frames[i % len(frames)]

        return StreamingResponse(gen(), media_type="text/event-stream")

    @app.get("/sse")
    async def sse(count: int, size: int) -> EventSourceResponse:
        async def gen():  # type: ignore[no-untyped-def]
            for i in range(count):
                yield ServerSentEvent(data=tick_data(i, size), event="tick", id=str(i))

        return EventSourceResponse(gen())

    sock = _listen()

    class Ready(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            port = sock.getsockname()[1]
            print(f"READY http://{HOST}:{port}", flush=True)

    config = uvicorn.Config(app, access_log=False, log_level="warning", ws="none")
    asyncio.run(Ready(config).serve(sockets=[sock]))


# -- the measuring side ---------------------------------------------------------------


@dataclass
class Child:
    proc: subprocess.Popen[str]
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_s(self) -> float:
        """The child's CPU time, user + system, all its threads, to the nanosecond.

        Read from its process CPU clock (clock_getcpuclockid(3); Linux encodes the
        id as ``(~pid << 3) | CPUCLOCK_SCHED``).  /proc/<pid>/stat counts in clock
        ticks (10 ms): ±1 % of a 1 s run per reading, as much as the effect the
        lab rows look for; it is the fallback where that clock cannot be read.
        """
        try:
            return time.clock_gettime_ns((~self.proc.pid << 3) | 2) / 1e9
        except OSError:
            pass
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        else:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def spawn(mode: str, *args: str, **extra_env: str) -> Child:
    # The child imports `server` from this checkout, not an installed copy.
    env = {**os.environ, **extra_env, "PYTHONPATH": ROOT}
    proc = subprocess.Popen(
        [sys.executable, __file__, mode, *args],
        env=env,
        stdin=subprocess.PIPE if mode.startswith("serve-ours") else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"{mode} did not start: {line!r}")
    return Child(proc, line.split()[1])


async def http(port: int, method: str, path: str) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port)
    head = f"{method} {path} HTTP/1.0\r\nHost: {HOST}\r\nContent-Length: 0\r\n\r\n"
    writer.write(head.encode())
    body = await reader.read()
    writer.close()
    await writer.wait_closed()
    return body


@dataclass
class Receiver:
    """One subscriber: numbers and latencies of the ``bench`` events it got."""

    numbers: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    last_id: str | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def feed_block(self, block: bytes, now: float) -> None:
        if b"event: bench" not in block:
            return
        for line in block.split(b"\n"):
            line = line.rstrip(b"\r")
            if line.startswith(b"data: "):
                payload = json.loads(line[6:])
                self.numbers.append(payload["n"])
                self.latencies.append(now - payload["t"])
            elif line.startswith(b"id: "):
                self.last_id = line[4:].decode()


class _Feed(asyncio.Protocol):
    """The reading side of `subscribe`: a protocol, not a stream reader, so that
    1,000 subscribers cost the measuring process a callback per read instead of
    a task wake-up, and each read is stamped as soon as the loop sees it."""

    def __init__(self, receiver: Receiver, head: bytes) -> None:
        self._receiver = receiver
        self._head = head
        self._buf = b""
        self._in_body = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(self._head)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self._buf + data
        if not self._in_body:
            if b"\r\n\r\n" not in buf:
                self._buf = buf
                return
            buf = buf.split(b"\r\n\r\n", 1)[1]
            self._in_body = True
            self._receiver.connected.set()
        *blocks, self._buf = buf.replace(b"\r\n", b"\n").split(b"\n\n")
        for block in blocks:
            self._receiver.feed_block(block, now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def subscribe(
    port: int, receiver: Receiver, tls: ssl.SSLContext | None = None
) -> None:
    """Read /api/events over HTTP/1.0 (no chunking) until cancelled or closed."""
    headers = f"Last-Event-ID: {receiver.last_id}\r\n" if receiver.last_id else ""
    head = f"GET /api/events HTTP/1.0\r\nHost: {HOST}\r\n{headers}\r\n".encode()
    transport, feed = await asyncio.get_running_loop().create_connection(
        lambda: _Feed(receiver, head), HOST, port, ssl=tls
    )
    try:
        await feed.closed
    finally:
        transport.close()


async def stop_all(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def p99_ms(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


@dataclass
class FanOut:
    subscribers: int
    p50_ms: float
    p99_ms: float
    kb_per_stream: float
    cpu_core: float
    complete: int  # subscribers that got every event


def lost_repeated_got(receivers: list[Receiver]) -> tuple[int, int, int]:
    """Events lost and repeated between each receiver's first and last number,
    and events received, over every receiver (the resume rows)."""
    lost = dup = got = 0
    for r in receivers:
        if not r.numbers:
            continue
        expected = set(range(r.numbers[0], max(r.numbers) + 1))
        lost += len(expected - set(r.numbers))
        dup += len(r.numbers) - len(set(r.numbers))
        got += len(r.numbers)
    return lost, dup, got


def summed(
    receivers: list[Receiver], expected: int, kb_per_stream: float, cpu: float
) -> FanOut:
    """A fan-out's figures: latency percentiles over every receiver's events, and
    the subscribers that got all ``expected`` events in order."""
    complete = sum(
        1
        for r in receivers
        if r.numbers == list(range(len(r.numbers))) and len(r.numbers) >= expected
    )
    latencies = [x for r in receivers for x in r.latencies]
    return FanOut(
        len(receivers),
        statistics.median(latencies) * 1000 if latencies else float("nan"),
        p99_ms(latencies),
        kb_per_stream,
        cpu,
        complete,
    )


async def fan_out(
    child: Child, subscribers: int, seconds: float, rate: float = 10
) -> FanOut:
    receivers = [Receiver() for _ in range(subscribers)]
    rss_idle = child.rss_kb()
    tasks = []
    for i in range(0, subscribers, 100):  # connect in waves, as a crowd would
        for r in receivers[i : i + 100]:
            tasks.append(asyncio.create_task(subscribe(child.port, r)))
        await asyncio.gather(*(r.connected.wait() for r in receivers[i : i + 100]))
    await asyncio.sleep(0.5)
    cpu0 = child.cpu_s()
    await http(child.port, "POST", f"/bench/start?rate={rate}&seconds={seconds}")
    await asyncio.sleep(min(3.0, seconds / 2))
    rss_busy = child.rss_kb()
    await asyncio.sleep(seconds - min(3.0, seconds / 2))
    expected = int(seconds * rate)
    for _ in range(200):  # a loaded machine lags: wait (at most 60 s) for the rest
        if all(len(r.numbers) >= expected for r in receivers):
            break
        await asyncio.sleep(0.3)
    # CPU seconds the whole delivery took, per second of the nominal window: the
    # same work for every server, even when a busy machine stretches it out.
    cpu = (child.cpu_s() - cpu0) / seconds
    await stop_all(tasks)
    return summed(receivers, expected, (rss_busy - rss_idle) / subscribers, cpu)


def ticker_rate(
    url: str, count: int, curl_args: tuple[str, ...] = ()
) -> tuple[float, float]:
    """Events/s and seconds for curl to read ``count`` events to /dev/null."""
    out = subprocess.run(
        [
            "curl",
            *curl_args,
            "-s",
            "-N",
            "-o",
            "/dev/null",
            "-w",
            "%{time_total} %{size_download}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    seconds = float(out[0])
    return count / seconds, seconds


async def resume_under_load(
    child: Child, subscribers: int, drops: int, seconds: float
) -> tuple[int, int, int]:
    """Lost, duplicated, received over all subscribers with random forced drops."""
    receivers = [Receiver() for _ in range(subscribers)]
    rng = random.Random(7)

    async def one(receiver: Receiver) -> None:
        times = sorted(rng.uniform(0.5, seconds - 0.5) for _ in range(drops))
        started = time.monotonic()
        for at in [*times, seconds + 1.0]:
            task = asyncio.create_task(subscribe(child.port, receiver))
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            await stop_all([task])

    tasks = [asyncio.create_task(one(r)) for r in receivers]
    await asyncio.sleep(0.3)
    await http(child.port, "POST", f"/bench/start?rate=20&seconds={seconds}")
    await asyncio.gather(*tasks)
    return lost_repeated_got(receivers)


@dataclass
class TickCost:
    """The ticker's cost in the server: CPU µs per event, and events/s."""

    us_per_event: float
    events_per_s: float


def ticker_cost(child: Child, count: int) -> TickCost:
    """One curl read of ``count`` ticks as fast as possible; the child's CPU for it."""
    cpu0 = child.cpu_s()
    rate, _ = ticker_rate(
        f"{child.url}/api/ticker?rate=0&size={TICK_SIZE}&count={count}", count
    )
    return TickCost((child.cpu_s() - cpu0) / count * 1e6, rate)


@dataclass
class LabCosts:
    """One workload measured lab off and lab on, round by round."""

    off: list[TickCost] = field(default_factory=list)
    on: list[TickCost] = field(default_factory=list)

    def median(self, side: list[TickCost]) -> TickCost:
        return TickCost(
            statistics.median(c.us_per_event for c in side),
            statistics.median(c.events_per_s for c in side),
        )

    def best(self, side: list[TickCost]) -> TickCost:
        return TickCost(
            min(c.us_per_event for c in side), max(c.events_per_s for c in side)
        )

    def paired(self) -> list[float]:
        """Each round's on/off ratio: load that drifts between rounds cancels."""
        return [
            a.us_per_event / b.us_per_event
            for a, b in zip(self.on, self.off, strict=True)
        ]


PIECES = 4  # reads per side and round, interleaved off-on-on-off-off-on-on-off


def alternate(count: int, runs: int, **env: str) -> LabCosts:
    """``runs`` rounds of `ticker_cost` on both sides, each on a fresh pair of servers.

    A round reads ``count`` ticks from each side in `PIECES` interleaved reads
    (off-on-on-off ..., starting with the other side every round): a
    neighbour's load that comes and goes within seconds falls on both sides
    alike instead of on whichever ran during it.  Fresh processes each round:
    two runs of the very same server differ by a few % per process (memory
    layout, hash seed), which one pair for all rounds would add to the ratio
    as if the lab had cost it.
    """
    costs = LabCosts()
    piece = count // PIECES
    for i in range(runs):
        off = spawn("serve-ours", **env)
        on = spawn("serve-ours-lab", **env)
        try:
            ticker_cost(off, piece // 2)  # warm-up
            ticker_cost(on, piece // 2)
            first, second = (off, on) if i % 2 == 0 else (on, off)
            order = [first, second, second, first] * (PIECES // 2)
            got: dict[int, list[TickCost]] = {id(off): [], id(on): []}
            for child in order:
                got[id(child)].append(ticker_cost(child, piece))
            for side, child in ((costs.off, off), (costs.on, on)):
                side.append(
                    TickCost(
                        statistics.fmean(c.us_per_event for c in got[id(child)]),
                        statistics.fmean(c.events_per_s for c in got[id(child)]),
                    )
                )
        finally:
            off.stop()
            on.stop()
    return costs


@dataclass
class LabBench:
    """The lab on/off rows' measurements: full writes, and one tick per write."""

    flat: LabCosts
    single: LabCosts
    runs: int


ONE_TICK_BATCH = 100  # bytes: one 32-byte tick's frame (~70 B) fits, two do not


def lab_on_off(quick: bool, runs: int) -> LabBench:
    """The ticker's CPU per event with the lab off and on, alternating.

    The lab keeps a sent log per subscription (the app's server runs with it);
    on the ticker's path that must cost within 10 % of running without it.
    Two workloads, each read flat out by curl: writes of up to 64 KiB (~900
    ticks each, the server's default), and writes of one tick each, as a paced
    ticker makes them: there whatever the lab pays per write is paid per tick,
    without the timer noise of pacing.  The target is on the medians; the best
    of N and each round's own ratio are printed beside them (on a shared
    machine other work only adds).
    """
    counts = (200_000, 20_000) if quick else (1_000_000, 50_000)
    flat = alternate(counts[0], runs)
    single = alternate(counts[1], runs, BENCH_BATCH_BYTES=str(ONE_TICK_BATCH))
    return LabBench(flat, single, runs)


def lab_rows(bench: LabBench) -> None:
    runs = bench.runs
    for name, costs in (("ticker", bench.flat), ("1-tick writes", bench.single)):
        on, off = costs.median(costs.on), costs.median(costs.off)
        best_on, best_off = costs.best(costs.on), costs.best(costs.off)
        paired = costs.paired()
        row(
            f"{name} CPU us/event, median {runs}",
            f"{on.us_per_event:.2f}",
            f"{off.us_per_event:.2f}",
            f"{on.us_per_event / off.us_per_event:.2f}x",
            "<= 1.10x",
        )
        row(
            f"{name} CPU us/event, best {runs}",
            f"{best_on.us_per_event:.2f}",
            f"{best_off.us_per_event:.2f}",
            f"{best_on.us_per_event / best_off.us_per_event:.2f}x",
            "<= 1.10x",
        )
        row(
            f"{name}: each round's ratio",
            f"{min(paired):.2f}..{max(paired):.2f}",
            "",
            f"{statistics.median(paired):.2f}x",
            "(median, range)",
        )
    on, off = bench.flat.median(bench.flat.on), bench.flat.median(bench.flat.off)
    row(
        "ticker events/s, lab on vs off",
        f"{on.events_per_s:,.0f}",
        f"{off.events_per_s:,.0f}",
        f"{on.events_per_s / off.events_per_s:.2f}x",
        "(wall clock)",
    )


# -- HTTP/2 against HTTP/1.1 on one server ------------------------------------------

H2_STREAMS = 100  # per connection: Hypercorn's SETTINGS_MAX_CONCURRENT_STREAMS


def tls_context(ca_file: str, alpn: str) -> ssl.SSLContext:
    import ssl

    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols([alpn])
    return context


async def h2_subscribe(
    port: int, receivers: list[Receiver], tls: ssl.SSLContext
) -> None:
    """One HTTP/2 connection, one /api/events stream per receiver, until cancelled."""
    import h2.config
    import h2.connection
    import h2.events

    reader, writer = await asyncio.open_connection(HOST, port, ssl=tls)
    conn = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    )
    conn.initiate_connection()
    conn.increment_flow_control_window(1 << 24)
    streams: dict[int, Receiver] = {}
    buffers: dict[int, bytes] = {}
    for receiver in receivers:
        stream_id = conn.get_next_available_stream_id()
        headers = [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", f"{HOST}:{port}"),
            (":path", "/api/events"),
        ]
        if receiver.last_id:
            headers.append(("last-event-id", receiver.last_id))
        conn.send_headers(stream_id, headers, end_stream=True)
        streams[stream_id], buffers[stream_id] = receiver, b""
    writer.write(conn.data_to_send())
    try:
        while data := await reader.read(65536):
            now = time.time()
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    streams[event.stream_id].connected.set()
                elif isinstance(event, h2.events.DataReceived):
                    conn.acknowledge_received_data(
                        event.flow_controlled_length, event.stream_id
                    )
                    buf = buffers[event.stream_id] + event.data
                    *blocks, buf = buf.replace(b"\r\n", b"\n").split(b"\n\n")
                    buffers[event.stream_id] = buf
                    for block in blocks:
                        streams[event.stream_id].feed_block(block, now)
            if out := conn.data_to_send():
                writer.write(out)
    finally:
        writer.close()


def h1_connect(
    port: int, tls: ssl.SSLContext
) -> Callable[..., list[asyncio.Task[None]]]:
    def connect(receivers: list[Receiver]) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(subscribe(port, r, tls)) for r in receivers]

    return connect


def h2_connect(
    port: int, tls: ssl.SSLContext
) -> Callable[..., list[asyncio.Task[None]]]:
    def connect(receivers: list[Receiver]) -> list[asyncio.Task[None]]:
        return [
            asyncio.create_task(h2_subscribe(port, receivers[i : i + H2_STREAMS], tls))
            for i in range(0, len(receivers), H2_STREAMS)
        ]

    return connect


async def fan_out_with(
    child: Child,
    connect: Callable[[list[Receiver]], list[asyncio.Task[None]]],
    subscribers: int,
    seconds: float,
    rate: float = 10,
) -> FanOut:
    """`fan_out`'s measure, the subscribers connected by ``connect``."""
    receivers = [Receiver() for _ in range(subscribers)]
    tasks = connect(receivers)
    await asyncio.wait_for(asyncio.gather(*(r.connected.wait() for r in receivers)), 60)
    await asyncio.sleep(0.3)
    cpu0 = child.cpu_s()
    await https_post(child, f"/bench/start?rate={rate}&seconds={seconds}")
    await asyncio.sleep(seconds)
    expected = int(seconds * rate)
    for _ in range(100):
        if all(len(r.numbers) >= expected for r in receivers):
            break
        await asyncio.sleep(0.3)
    cpu = (child.cpu_s() - cpu0) / seconds
    await stop_all(tasks)
    return summed(receivers, expected, 0.0, cpu)  # RSS: not read over TLS here


async def https_post(child: Child, path: str) -> None:
    import httpx

    async with httpx.AsyncClient(verify=tls_context(CA_FILE[0], "http/1.1")) as client:
        (await client.post(child.url + path)).raise_for_status()


CA_FILE: list[str] = []  # the h2 child's local CA (set by main_h2)


async def resume_with(
    child: Child,
    connect: Callable[[list[Receiver]], list[asyncio.Task[None]]],
    subscribers: int,
    drops: int,
    seconds: float,
) -> tuple[int, int, int]:
    """`resume_under_load` with each subscription connected by ``connect``."""
    receivers = [Receiver() for _ in range(subscribers)]
    rng = random.Random(7)

    async def one(receiver: Receiver) -> None:
        times = sorted(rng.uniform(0.5, seconds - 0.5) for _ in range(drops))
        started = time.monotonic()
        for at in [*times, seconds + 1.0]:
            tasks = connect([receiver])
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            await stop_all(tasks)

    tasks = [asyncio.create_task(one(r)) for r in receivers]
    await asyncio.sleep(0.3)
    await https_post(child, f"/bench/start?rate=20&seconds={seconds}")
    await asyncio.gather(*tasks)
    return lost_repeated_got(receivers)


async def main_h2(quick: bool) -> None:
    """HTTP/2 against HTTP/1.1 on one `serve --tls --http2` server (Hypercorn).

    Medians of ``runs`` alternating runs: curl's ticker read (``--http1.1`` /
    ``--http2``), and a fan-out at 10 events/s (HTTP/1.1: a TLS connection per
    subscriber; HTTP/2: 100 streams per connection); then the resume benchmark
    over each, lost and duplicated counted.
    """
    import tempfile

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs = 5
    count = 100_000 if quick else 500_000
    subscribers = 200 if quick else 1000
    seconds = 4.0 if quick else 10.0
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    with tempfile.TemporaryDirectory() as config:
        os.environ["SSE_VIEWER_CONFIG_DIR"] = config
        child = spawn("serve-ours-h2")
        CA_FILE[:] = [os.path.join(config, "tls", "ca.pem")]
        try:
            h1_tls = tls_context(CA_FILE[0], "http/1.1")
            h2_tls = tls_context(CA_FILE[0], "h2")
            tick = f"{child.url}/api/ticker?rate=0&size={TICK_SIZE}&count={count}"
            curl = ("--cacert", CA_FILE[0])
            rates: dict[str, list[float]] = {"h1": [], "h2": []}
            fans: dict[str, list[FanOut]] = {"h1": [], "h2": []}
            for n in range(runs):
                order = ("h1", "h2") if n % 2 == 0 else ("h2", "h1")
                for proto in order:
                    flag = "--http1.1" if proto == "h1" else "--http2"
                    rates[proto].append(ticker_rate(tick, count, (*curl, flag))[0])
                for proto in order:
                    connect = (h1_connect if proto == "h1" else h2_connect)(
                        child.port, h1_tls if proto == "h1" else h2_tls
                    )
                    fans[proto].append(
                        await fan_out_with(child, connect, subscribers, seconds)
                    )
            r_subs, r_drops, r_seconds = (50, 10, 10.0) if quick else (200, 20, 30.0)
            resumes = {
                proto: await resume_with(
                    child,
                    (h1_connect if proto == "h1" else h2_connect)(
                        child.port, h1_tls if proto == "h1" else h2_tls
                    ),
                    r_subs,
                    r_drops,
                    r_seconds,
                )
                for proto in ("h1", "h2")
            }
        finally:
            child.stop()

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print()
    row("metric (one server, TLS)", "HTTP/2", "HTTP/1.1", "h2 / h1", "target")
    print(f"|{'-' * 42}|{'-' * 13}|{'-' * 13}|{'-' * 10}|{'-' * 19}|")
    t2, t1 = med(rates["h2"]), med(rates["h1"])
    row("ticker events/s (curl)", f"{t2:,.0f}", f"{t1:,.0f}", f"{t2 / t1:.2f}x", "")
    for name, pick in (
        ("p50 ms", lambda f: f.p50_ms),
        ("p99 ms", lambda f: f.p99_ms),
        ("CPU core-s/s", lambda f: f.cpu_core),
    ):
        v2 = med([pick(f) for f in fans["h2"]])
        v1 = med([pick(f) for f in fans["h1"]])
        shown = (lambda v: f"{v:.0%}") if "CPU" in name else (lambda v: f"{v:.1f}")
        row(
            f"fan-out {subscribers} x 10/s, {seconds:.0f}s: {name}",
            shown(v2),
            shown(v1),
            f"{v2 / v1:.2f}x",
            "",
        )
    complete2 = min(f.complete for f in fans["h2"])
    complete1 = min(f.complete for f in fans["h1"])
    row(
        "fan-out: every event, worst run",
        f"{complete2}/{subscribers}",
        f"{complete1}/{subscribers}",
        "",
        "all",
    )
    for label, index in (("lost", 0), ("duplicated", 1), ("received", 2)):
        row(
            f"resume {r_subs} x {r_drops} drops, {r_seconds:.0f}s: {label}",
            f"{resumes['h2'][index]:,}",
            f"{resumes['h1'][index]:,}",
            "",
            "0" if index < 2 else "",
        )
    print()
    print(
        f"medians of {runs} alternating runs; ticker {count:,} events of "
        f"{TICK_SIZE} B; runs h2 ticker {[f'{r:,.0f}' for r in rates['h2']]}, "
        f"h1 {[f'{r:,.0f}' for r in rates['h1']]}; "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )


def row(metric: str, ours: str, base: str, ratio: str, target: str) -> None:
    print(f"| {metric:<40} | {ours:>11} | {base:>11} | {ratio:>8} | {target:<17} |")


def main_lab(quick: bool) -> None:
    """Only the lab on/off rows (``--lab``)."""
    bench = lab_on_off(quick, 3 if quick else 7)
    print()
    row("metric", "lab on", "lab off", "ratio", "target")
    print(f"|{'-' * 42}|{'-' * 13}|{'-' * 13}|{'-' * 10}|{'-' * 19}|")
    lab_rows(bench)


async def main(quick: bool) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    seconds = 8.0 if quick else 30.0
    load = os.getloadavg()[0]
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, ulimit -n {hard}, "
        f"load average {load:.2f} at start"
    )
    client_cpu0 = time.process_time()
    ours, base = spawn("serve-ours"), spawn("serve-baseline")
    try:
        # Ticker throughput (curl, one subscriber, as fast as possible)
        n_ours = 300_000 if quick else 2_000_000
        n_base = 100_000 if quick else 300_000
        t_ours, s_ours = ticker_rate(
            f"{ours.url}/api/ticker?rate=0&size={TICK_SIZE}&count={n_ours}", n_ours
        )
        t_stream, s_stream = ticker_rate(
            f"{base.url}/stream?size={TICK_SIZE}&count={n_base}", n_base
        )
        t_sse, s_sse = ticker_rate(
            f"{base.url}/sse?size={TICK_SIZE}&count={n_base // 3}", n_base // 3
        )

        fan_ours = await fan_out(ours, 1000, seconds)
        fan_base = await fan_out(base, 1000, seconds)

        # The knee: the subscriber count where p99 passes 100 ms (up or down from 1000).
        knee: list[FanOut] = []
        above = fan_ours.p99_ms > 100
        steps = (500, 250, 100) if above else (2000, 3000, 4000, 6000)
        for count in steps[:1] if quick else steps:
            result = await fan_out(ours, count, 8.0)
            knee.append(result)
            if (result.p99_ms > 100) != above:
                break

        r_seconds = 15.0 if quick else 60.0
        lost, dup, got = await resume_under_load(ours, 200, 20, r_seconds)
    finally:
        ours.stop()
        base.stop()
    lab = lab_on_off(quick, 3 if quick else 5)

    print()
    row("metric", "ours", "baseline", "ratio", "target")
    print(f"|{'-' * 42}|{'-' * 13}|{'-' * 13}|{'-' * 10}|{'-' * 19}|")
    row(
        "ticker ev/s vs StreamingResponse",
        f"{t_ours:,.0f}",
        f"{t_stream:,.0f}",
        f"{t_ours / t_stream:.2f}x",
        ">= 0.5x",
    )
    row(
        "ticker events/s vs sse-starlette",
        f"{t_ours:,.0f}",
        f"{t_sse:,.0f}",
        f"{t_ours / t_sse:.1f}x",
        "(for scale)",
    )
    row(
        f"fan-out 1000 x 10/s, {seconds:.0f}s: p50 ms",
        f"{fan_ours.p50_ms:.1f}",
        f"{fan_base.p50_ms:.1f}",
        f"{fan_ours.p50_ms / fan_base.p50_ms:.2f}x",
        "",
    )
    row(
        "fan-out p99 ms",
        f"{fan_ours.p99_ms:.1f}",
        f"{fan_base.p99_ms:.1f}",
        f"{fan_ours.p99_ms / fan_base.p99_ms:.2f}x",
        "<= 1.2x",
    )
    row(
        "fan-out KB per stream",
        f"{fan_ours.kb_per_stream:.1f}",
        f"{fan_base.kb_per_stream:.1f}",
        f"{fan_ours.kb_per_stream - fan_base.kb_per_stream:+.1f} KB",
        "<= +10 KB",
    )
    row(
        "fan-out CPU (core-seconds per second)",
        f"{fan_ours.cpu_core:.0%}",
        f"{fan_base.cpu_core:.0%}",
        f"{fan_ours.cpu_core / fan_base.cpu_core:.2f}x",
        "<= 1.3x",
    )
    row(
        "fan-out: subscribers with every event",
        f"{fan_ours.complete}/1000",
        f"{fan_base.complete}/1000",
        "",
        "all",
    )
    for k in knee:
        row(
            f"knee: {k.subscribers} subscribers p99 ms",
            f"{k.p99_ms:.1f}",
            "",
            "",
            "find p99 > 100 ms",
        )
    lab_rows(lab)
    row(f"resume 200 x 20 drops, {r_seconds:.0f}s: lost", f"{lost}", "", "", "0")
    row("resume: duplicated", f"{dup}", "", "", "0")
    row("resume: events received", f"{got:,}", "", "", "")
    print()
    print(
        f"client process CPU {time.process_time() - client_cpu0:.0f} s; "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(
        f"ticker seconds: ours {s_ours:.2f} for {n_ours:,}, "
        f"StreamingResponse {s_stream:.2f} for {n_base:,}, "
        f"sse-starlette {s_sse:.2f} for {n_base // 3:,}; "
        f"data {TICK_SIZE} B/event; uvloop/httptools not installed (asyncio + h11)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve-ours":
        serve_ours(broker_url=sys.argv[2] if len(sys.argv) > 2 else None)
    elif len(sys.argv) > 1 and sys.argv[1] == "serve-ours-lab":
        serve_ours(lab=True)
    elif len(sys.argv) > 1 and sys.argv[1] == "serve-ours-h2":
        serve_ours_h2()
    elif len(sys.argv) > 1 and sys.argv[1] == "serve-baseline":
        serve_baseline()
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--quick", action="store_true", help="short runs (~1 min)")
        parser.add_argument(
            "--lab", action="store_true", help="only the ticker lab on/off rows"
        )
        parser.add_argument(
            "--scale",
            action="store_true",
            help="only the scale-out rows: in-memory vs Redis, 1 vs 2 workers "
            "(bench_scale.py; needs redis-server)",
        )
        parser.add_argument("--runs", type=int, help="alternating runs (5; 3 quick)")
        parser.add_argument(
            "--h2",
            action="store_true",
            help="only HTTP/2 against HTTP/1.1 on one `serve --tls --http2` server",
        )
        args = parser.parse_args()
        if args.scale:
            from bench_scale import main_scale  # next to this file

            asyncio.run(main_scale(args.quick, args.runs))
        elif args.h2:
            asyncio.run(main_h2(args.quick))
        elif args.lab:
            main_lab(args.quick)
        else:
            asyncio.run(main(args.quick))
