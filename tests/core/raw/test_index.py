"""Records find their bytes and bytes find their records, through ``at``."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings, strategies as st

from desktop.core.engine.decoder import Decoder
from desktop.core.engine.records import (
    Comment,
    Connecting,
    Event,
    Open,
    RawChunk,
    Record,
    RetryField,
)
from desktop.core.raw.index import RawIndex
from desktop.core.raw.log import RawLog
from desktop.core.raw.target import events_of, target

SETTINGS = settings(
    deadline=None,
    database=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)
ITEMS = (Event, Comment, RetryField)


def run(
    connections: list[list[bytes]], limit: int = 1 << 30
) -> tuple[list[Record], RawLog]:
    """What the session sees: per read the RawChunk, then the decoder's records."""
    rows: list[Record] = []
    log = RawLog(limit)
    at = 0.0
    for number, reads in enumerate(connections, 1):
        rows.append(Connecting(number, "u", "", at, 0.0))
        rows.append(Open(200, (), number, "u", at + 0.1, 0.0))
        decoder = Decoder(comments=True, connection=number)
        for data in reads:
            at += 1.0
            log.add(RawChunk(data, number, at, 0.0))
            rows += decoder.feed(data, at, 0.0)
    return rows, log


def test_every_record_finds_its_bytes_and_back() -> None:
    first = [b"retry: 9\n\n: hi\n", b"data: a\r\n\r\ndata: b\n\ndata", b": x\n\n"]
    second = [b"id: 1\nevent: t\ndata: c\n\n", b"data: d\n", b"\n"]
    rows, log = run([first, second])
    index = RawIndex(log)
    found: list[tuple[int, bytes]] = []
    for i, row in enumerate(rows):
        located = index.locate(rows, i)
        if not isinstance(row, ITEMS):
            assert located is None
            continue
        assert located is not None and located.connection == row.connection
        raw = index.map(row.connection)
        assert raw is not None
        found.append((row.connection, raw.bytes(located.start, located.end)))
        assert index.row_of(rows, row.connection, located.output) == i
    assert found == [
        (1, b"retry: 9\n"),
        (1, b": hi\n"),
        (1, b": hi\ndata: a\r\n\r\n"),
        (1, b"data: b\n\n"),
        (1, b"data: x\n\n"),  # "data" in read 2, ": x" and the blank in read 3
        (2, b"id: 1\nevent: t\ndata: c\n\n"),
        (2, b"data: d\n\n"),
    ]


def test_a_read_whose_first_rows_retention_dropped_still_matches() -> None:
    """Retention cuts the timeline's front mid-read: match from the read's end."""
    burst = b"".join(b": c%d\ndata: %d\n\n" % (i, i) for i in range(6))
    rows, log = run([[b"data: first\n\n", burst, b"data: last\n\n"]])
    index = RawIndex(log)
    truth = {
        id(row): index.locate(rows, i)
        for i, row in enumerate(rows)
        if isinstance(row, ITEMS)
    }
    burst_first = next(i for i, r in enumerate(rows) if r.at == 2.0)
    for keep in range(1, len(rows) - burst_first + 1):  # a small retention
        kept = rows[len(rows) - keep :]  # what a timeline of ``keep`` rows holds
        for i, row in enumerate(kept):
            if not isinstance(row, ITEMS):
                continue
            located = index.locate(kept, i)
            assert located == truth[id(row)], (keep, i, row)
            assert located is not None
            assert index.row_of(kept, row.connection, located.output) == i
        # The bytes of a record retention dropped no longer select a row.
        dropped = rows[len(rows) - keep - 1]
        if isinstance(dropped, ITEMS) and dropped.at == 2.0:
            gone = truth[id(dropped)]
            assert gone is not None
            assert index.row_of(kept, 1, gone.output) is None


def test_bytes_of_a_discarded_event_have_no_record() -> None:
    _rows, log = run([[b"data: a\n\n", b"data: never"]])
    index = RawIndex(log)
    raw = index.map(1)
    assert raw is not None
    hit = target(raw, raw.end - 1, ended=True)
    assert hit.what == "discarded" and hit.output == -1
    assert raw.bytes(hit.start, hit.end) == b"data: never"


def test_the_map_follows_new_reads_and_is_rebuilt_after_drops() -> None:
    log = RawLog(64)
    index = RawIndex(log)
    log.add(RawChunk(b"data: 1\n\n", 1, 1.0, 0.0))
    first = index.map(1)
    assert first is not None and first.outputs == 1
    log.add(RawChunk(b"data: 2\n\n", 1, 2.0, 0.0))
    assert index.map(1) is first and first.outputs == 2  # extended, not rebuilt
    for i in range(3, 40):
        log.add(RawChunk(b"data: %d\n\n" % i, 1, float(i), 0.0))
    later = index.map(1)
    assert later is not None and later is not first
    conn = log.connection(1)
    assert conn is not None and later.base == conn.start
    assert events_of(later)[-1].data == "39"


@SETTINGS
@given(
    body=st.lists(
        st.sampled_from(
            [b"data: a\n", b"data: b\r\n", b"\n", b": c\n", b"retry: 5\n", b"id: 1\r"]
        ),
        max_size=40,
    ),
    data=st.data(),
)
def test_with_the_oldest_reads_dropped_retained_records_find_the_same_bytes(
    body: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(body)
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)))))
    reads = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    reads = [r for r in reads if r]
    limit = data.draw(st.integers(1, max(1, len(stream))))
    rows, full = run([reads])
    _, kept = run([reads], limit)
    whole, part = RawIndex(full), RawIndex(kept)
    conn = kept.connection(1)
    raw = part.map(1)
    if conn is not None and raw is not None:  # every kept byte has an answer
        for offset in range(conn.start, conn.end):
            hit = target(raw, offset, ended=True)
            assert hit.start <= offset < hit.end or hit.what == "bom"
    for i, row in enumerate(rows):
        if not isinstance(row, ITEMS):
            continue
        expected = whole.locate(rows, i)
        assert expected is not None
        got = part.locate(rows, i)
        if conn is None or expected.end <= conn.start:
            continue  # its bytes were dropped
        if got is None:  # only a block that began before the kept bytes may be
            assert expected.start < conn.start  # unknown; never a wrong answer
            continue
        assert (got.start, got.end) == (max(expected.start, conn.start), expected.end)
        assert part.row_of(rows, 1, got.output) == i


def test_finding_bytes_is_fast_with_100k_rows() -> None:
    reads = [
        b"".join(b"data: %d\n\n" % (i * 10 + j) for j in range(10))
        for i in range(10_000)
    ]
    rows, log = run([reads], limit=4 << 20)
    index = RawIndex(log)
    started = time.perf_counter()
    assert index.map(1) is not None
    built = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(len(rows) - 1, len(rows) - 2001, -1):
        located = index.locate(rows, i)
        assert located is not None
        assert index.row_of(rows, 1, located.output) == i
    each = (time.perf_counter() - started) / 2000
    assert len(rows) > 100_000
    assert each < 0.002, f"{each * 1000:.2f} ms per lookup"
    assert built < 3.0, f"building the map took {built:.2f} s"


def test_a_map_is_built_in_slices_and_answers_as_one_built_at_once() -> None:
    """``advance`` with a past deadline scans one read per call, then is ready."""
    reads = [b"data: %d\n\n: c\n" % i for i in range(40)]
    _rows, log = run([reads])
    whole = RawIndex(log).map(1)
    index = RawIndex(log)
    calls, progress = 0, [0.0]
    while (raw := index.advance(1, 0.0)) is None:
        assert index.busy(1)
        progress.append(index.progress(1))
        calls += 1
    assert calls == len(reads) - 1 and progress == sorted(progress)
    assert not index.busy(1) and index.progress(1) == 1.0
    assert whole is not None and events_of(raw) == events_of(whole)
    assert [raw.output(i) for i in range(raw.outputs)] == [
        whole.output(i) for i in range(whole.outputs)
    ]
    # A map outgrown by drops keeps answering while its successor is built.
    for i in range(60):
        log.add(RawChunk(b"data: n%d%s\n\n" % (i, b"x" * 2000), 1, 100.0 + i, 0.0))
    raw = index.map(1)  # type: ignore[assignment]
    log.set_limit(20_000)  # dropped now: more than the map's minimum of 64 KB
    old = index.advance(1, 0.0)
    assert old is raw and index.busy(1)
    while index.busy(1):
        newer = index.advance(1, 0.0)
        assert newer is not None
    assert newer is not raw and newer.base == log.connection(1).start  # type: ignore[union-attr]
    assert events_of(newer)[-1].data == "n59" + "x" * 2000
