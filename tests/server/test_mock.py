"""``sse-viewer mock``: a recording the engine made of the bundled server, served by
the mock (a real child process), recorded again by the engine."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
import pytest

from desktop.core.engine.records import Connecting, Event, RawChunk
from desktop.core.engine.stream import EventStream

from liveserver import fast, start
from mockserver import (
    LAST,
    child_env,
    event_times,
    mock_child,
    mock_command,
    record_published,
    save,
)
from stream_checks import collect, events, of, options, run

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from desktop.core.engine.records import Record


@dataclass
class Recorded:
    records: list[Record]
    raw: Path  # saved with its raw reads
    rebuilt: Path  # saved without: the mock rebuilds the wire from the events


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    live = start(fast(ping_s=5.0, stats_interval_s=60.0))
    try:
        opts, records = run(record_published(live))
    finally:
        live.stop()
    folder = tmp_path_factory.mktemp("mock")
    return Recorded(
        records,
        save(folder / "raw.ndjson", opts, records, raw=True),
        save(folder / "rebuilt.ndjson", opts, records, raw=False),
    )


def _raw(records: list[Record]) -> bytes:
    return b"".join(r.data for r in of(records, RawChunk))


def _until_last(record: Record) -> bool:
    return isinstance(record, Event) and record.type == LAST


def _events(count: int) -> Callable[[Record], bool]:
    """A stop predicate: true at the ``count``-th event."""
    seen = 0

    def stop(record: Record) -> bool:
        nonlocal seen
        seen += isinstance(record, Event)
        return seen >= count

    return stop


def _again(url: str) -> list[Record]:
    """The mock's stream as the engine records it, to its end."""
    return list(run(collect(options(url, raw=True, reconnect=False), timeout=20)))


def test_raw_replay_is_the_recorded_wire_at_the_recorded_times(
    recorded: Recorded,
) -> None:
    with mock_child(str(recorded.raw), "--path", "/replay") as url:
        assert url.endswith("/replay")
        again = _again(url)
    assert events(again) == events(recorded.records)
    assert len(events(again)) == 10  # stats, eight published, last
    assert _raw(again) == _raw(recorded.records)  # byte for byte
    before, after = event_times(recorded.records), event_times(again)
    gaps = list(zip(_gaps(before), _gaps(after), strict=True))
    off = [(round(a, 4), round(b, 4)) for a, b in gaps if not _near(a, b, 0.10)]
    # Each gap within 10 % or 5 ms (25 % or 20 ms when the machine is loaded:
    # tests/benchmarks/bench_mock.py measures the strict figures).
    assert all(_near(a, b, 0.25, 0.020) for a, b in gaps), off
    span_before, span_after = before[-1] - before[0], after[-1] - after[0]
    assert abs(span_after - span_before) <= 0.05 * span_before, (
        span_before,
        span_after,
    )


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def _near(expected: float, got: float, share: float, floor: float = 0.005) -> bool:
    return abs(got - expected) <= max(share * expected, floor)


def test_rebuilt_replay_gives_the_same_events_and_ids(recorded: Recorded) -> None:
    with mock_child(str(recorded.rebuilt), "--speed", "10") as url:
        assert url.endswith("/api/events")  # the recorded path by default
        again = _again(url)
    assert events(again) == events(recorded.records)
    wire = _raw(again).decode()
    # `stats` (sent on joining) has no id: an id line only where the id changed.
    ids = [e.id for e in of(recorded.records, Event) if e.id]
    assert wire.count("\nid: ") + wire.startswith("id: ") == len(ids)


def test_speed_ten_plays_ten_times_faster(recorded: Recorded) -> None:
    with mock_child(str(recorded.raw), "--speed", "10") as url:
        again = _again(url)
    assert events(again) == events(recorded.records)
    before, after = event_times(recorded.records), event_times(again)
    expected = (before[-1] - before[0]) / 10
    took = after[-1] - after[0]
    assert abs(took - expected) <= max(0.1 * expected, 0.015), (expected, took)


def test_resume_after_a_lab_drop_continues_right_after_the_last_id(
    recorded: Recorded,
) -> None:
    with mock_child(str(recorded.raw), "--lab", "--path", "/replay") as url:
        base = url.removesuffix("/replay")

        async def watch() -> list[Record]:
            """Record the mock's stream; the lab drops it after four events."""
            seen: list[Record] = []
            async with (
                asyncio.timeout(20),
                httpx.AsyncClient(base_url=base) as lab,
                EventStream(options(url)) as stream,
            ):
                async for record in stream:
                    seen.append(record)
                    if len(of(seen, Event)) == 4 and isinstance(record, Event):
                        answer = await lab.post("/api/lab/drop")
                        assert answer.json()["subscriptions"] == 1
                    if _until_last(record):
                        break
            return seen

        again = run(watch())
    got = of(again, Event)
    assert [(e.type, e.data, e.id) for e in got] == events(recorded.records)
    second = [e for e in got if e.connection == 2]
    first = [e for e in got if e.connection == 1]
    assert first, "dropped before any event"
    assert second, "no second connection"
    resumed = [c for c in of(again, Connecting) if c.attempt == 2]
    assert resumed[0].last_event_id == first[-1].id


def test_loop_plays_again_with_ids_unique_across_passes(recorded: Recorded) -> None:
    original = events(recorded.records)
    with mock_child(str(recorded.raw), "--loop", "--speed", "20") as url:
        opts = options(url, reconnect=False)
        seen = run(collect(opts, stop=_events(2 * len(original) + 3), timeout=20))
        got = events(seen)
        # A resume with a second pass's id continues in the second pass.
        resumed = options(url, last_event_id=f"{original[3][2]}/loop2", count=1)
        next_one = events(run(collect(resumed, timeout=20)))
    assert next_one == [(*original[4][:2], f"{original[4][2]}/loop2")]
    n = len(original)
    assert got[:n] == original
    assert [(t, d) for t, d, _ in got[n : 2 * n]] == [(t, d) for t, d, _ in original]
    # Events sent without an id keep the id in force (here the first, `stats`,
    # keeps the first pass's last id: a resume from it starts the second pass).
    in_force, expected = original[-1][2], []
    for _, _, event_id in original:
        in_force = f"{event_id}/loop2" if event_id else in_force
        expected.append(in_force)
    assert [i for _, _, i in got[n : 2 * n]] == expected
    assert original[0][2] == ""
    assert got[2 * n][2] == expected[-1]  # the third pass's `stats`
    announced = [
        b for a, b in itertools.pairwise(["", *(i for _, _, i in got)]) if b != a
    ]
    assert len(announced) == len(set(announced)) == 2 * (n - 1) + 2


def test_a_foreign_host_is_refused(recorded: Recorded) -> None:
    with mock_child(str(recorded.raw)) as url:
        answer = httpx.get(url, headers={"Host": "rebind.example"})
    assert answer.status_code == 400


def test_a_web_client_on_a_named_origin_and_host_is_answered(
    recorded: Recorded,
) -> None:
    """A browser client under test runs on its dev server's origin, and a phone on
    the LAN reaches the mock by a name: --cors-origin and --allowed-host, as serve."""
    dev = "http://localhost:5173"
    args = ("--cors-origin", dev, "--allowed-host", "mock.test")

    def head(url: str, **headers: str) -> httpx.Response:
        with httpx.stream("GET", url, headers=headers, timeout=10) as answer:
            return answer  # the head is enough: the stream is closed here

    with mock_child(str(recorded.raw), *args) as url:
        named = head(url, Origin=dev)
        other = head(url, Origin="http://evil.example")
        by_name = head(url, Host="mock.test")
        foreign = head(url, Host="rebind.example")
    assert named.status_code == 200
    assert named.headers["access-control-allow-origin"] == dev
    assert "access-control-allow-origin" not in other.headers
    assert by_name.status_code == 200 and foreign.status_code == 400


def _mock_fails(path: Path, *args: str) -> str:
    done = subprocess.run(
        mock_command(str(path), *args),
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    return done.stderr


def test_a_bad_file_is_refused_with_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text("this is no recording\n")
    assert "not an sse-viewer recording" in _mock_fails(bad)
    assert "No such file" in _mock_fails(tmp_path / "missing.ndjson")
    said = _mock_fails(bad, "--speed", "0", "--path", "x", "--allowed-host", "a*.b")
    assert "--speed must be a number > 0" in said
    assert "--path x must start with /" in said
    assert "--allowed-host a*.b: a wildcard goes first" in said


def test_a_recording_of_a_non_stream_answer_is_refused(tmp_path: Path) -> None:
    live = start(fast())
    try:
        opts = options(f"{live.url}/api/jobs/nope/events", raw=True, reconnect=False)
        records = run(collect(opts))
    finally:
        live.stop()
    path = save(tmp_path / "404.ndjson", opts, records, raw=True)
    said = _mock_fails(path)
    assert "no event stream: the server answered 404" in said, said


def test_help_says_how_resume_and_loop_ids_behave() -> None:
    done = subprocess.run(
        mock_command("--help"),
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    said = " ".join(done.stdout.split())
    assert "continues right after the first event that carried that id" in said
    assert "replays from the start" in said
    assert "pass N (N >= 2) sends ID/loopN" in said
