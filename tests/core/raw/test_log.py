"""The raw log: bounded, oldest whole reads dropped and counted, O(1) per read."""

from __future__ import annotations

import time
import tracemalloc

from desktop.core.engine.records import RawChunk
from desktop.core.raw.log import DEFAULT_LIMIT, RawLog


def chunk(data: bytes, connection: int = 1, at: float = 0.0) -> RawChunk:
    return RawChunk(data, connection, at, 0.0)


def test_reads_are_kept_in_receive_order_per_stream_and_per_connection() -> None:
    log = RawLog()
    reads = [chunk(b"a", 1, 1), chunk(b"bb", 2, 2), chunk(b"c", 1, 3)]
    for r in reads:
        log.add(r)
    assert list(log.chunks()) == reads
    assert log.connections() == [1, 2]
    one = log.connection(1)
    assert one is not None and list(one.chunks) == [reads[0], reads[2]]
    assert (one.start, one.end, one.data()) == (0, 2, b"ac")
    assert log.size == log.received_bytes == 4
    assert log.limit == DEFAULT_LIMIT == 4 << 20


def test_the_oldest_whole_reads_go_and_are_counted() -> None:
    log = RawLog(limit=10)
    log.add(chunk(b"0123", 1))
    log.add(chunk(b"456\r", 1))
    generation = log.generation
    log.add(chunk(b"\n89ab", 2))  # 13 bytes > 10: the oldest read goes
    assert log.generation > generation
    assert (log.size, log.dropped_bytes, log.dropped_chunks) == (9, 4, 1)
    one = log.connection(1)
    assert one is not None
    assert (one.start, one.end, one.first_chunk, one.truncated) == (4, 8, 1, True)
    log.add(chunk(b"cd", 2))  # 11: connection 1 loses its last read and is gone
    assert log.connections() == [2]
    assert log.dropped_bytes == 8 and log.received_bytes == 15
    two = log.connection(2)
    assert two is not None and not two.truncated and two.data() == b"\n89abcd"


def test_a_smaller_limit_at_run_time_drops_at_once_and_the_newest_read_stays() -> None:
    log = RawLog()
    for i in range(10):
        log.add(chunk(bytes(100), 1, i))
    log.set_limit(250)
    assert log.size == 200 and log.dropped_chunks == 8
    log.set_limit(1)  # a read bigger than the limit is kept: the newest bytes show
    assert log.size == 100 and len(log) == 1
    conn = log.connection(1)
    assert conn is not None and conn.before == 0 and conn.first_chunk == 9


def test_clear_forgets_the_bytes_but_not_where_the_connection_is() -> None:
    log = RawLog()
    log.add(chunk(b"abc", 1))
    log.add(chunk(b"\xef\xbb\xbfde\r", 2))
    log.clear()
    assert (log.size, len(log), log.connections(), list(log.chunks())) == (0, 0, [], [])
    assert log.received_bytes == 9
    log.add(chunk(b"\nf", 2))  # the body goes on: offset 6, after a CR
    conn = log.connection(2)
    assert conn is not None
    assert (conn.start, conn.end, conn.before, conn.first_chunk) == (6, 8, 13, 1)
    assert conn.truncated


def test_clear_twice_keeps_the_position_and_raises_nothing() -> None:
    log = RawLog()
    log.add(chunk(b"abc", 1))
    log.clear()
    log.clear()  # Clear pressed again on a quiet stream
    log.add(chunk(b"de", 1))
    conn = log.connection(1)
    assert conn is not None and (conn.start, conn.end, conn.before) == (3, 5, ord("c"))


def test_memory_is_bounded_by_the_limit_and_adding_is_constant_time() -> None:
    """4 MB kept of 40 MB received: memory does not grow, time per read does not."""
    limit = 4 << 20
    log = RawLog(limit)
    payload = b"data: " + b"x" * 1000 + b"\n\n"

    def feed() -> float:
        started = time.perf_counter()
        for i in range(4000):  # fresh bytes each read, as from the network
            log.add(chunk(payload[:-1] + b"\n", 1 + i // 1000, float(i)))
        return time.perf_counter() - started

    tracemalloc.start()
    try:
        first = feed()
        feed()  # past the high-water mark
        held = tracemalloc.get_traced_memory()[0]
        for _ in range(8):
            feed()
        grown = tracemalloc.get_traced_memory()[0] - held
    finally:
        tracemalloc.stop()
    assert held < limit + (1 << 20), f"{held} bytes held for a {limit} byte limit"
    last = feed()
    assert log.size <= limit
    assert log.dropped_bytes == log.received_bytes - log.size
    assert log.received_bytes == 11 * 4000 * len(payload)
    assert grown < 256 << 10, f"memory grew by {grown} bytes at the limit"
    assert last < 3 * first + 0.01
