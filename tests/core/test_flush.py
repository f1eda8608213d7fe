"""The live view's flush policy: at once when quiet, coalesced and bounded when busy."""

from __future__ import annotations

from itertools import pairwise

from desktop.core.flush import BUSY_S, FRAME_S, FlushPolicy


def run(policy: FlushPolicy, arrivals: list[float]) -> list[tuple[float, int]]:
    """Play rows arriving at ``arrivals`` (seconds, sorted) against the policy, as
    the controller's one-shot timer would; returns each flush's time and rows."""
    flushes: list[tuple[float, int]] = []
    due: float | None = None
    rows = 0
    for at in [*arrivals, float("inf")]:
        while due is not None and due <= at:  # the timer fires before this row
            flushes.append((due, rows))
            policy.flushed(due, rows)
            due, rows = None, 0
        if at == float("inf"):
            break
        rows += 1
        delay = policy.arrived(at)
        if delay is not None:
            assert due is None, "a second flush scheduled while one is due"
            due = at + delay
    return flushes


def test_a_quiet_stream_flushes_each_event_at_once() -> None:
    policy = FlushPolicy()
    assert policy.arrived(100.0) == 0.0  # the very first row: next turn of the loop
    assert policy.scheduled
    policy.flushed(100.0, 1)
    assert not policy.scheduled
    assert policy.arrived(100.1) == 0.0  # 10 ev/s: every event is the first
    flushes = run(FlushPolicy(), [i * 0.1 for i in range(10)])
    assert flushes == [(i * 0.1, 1) for i in range(10)]


def test_rows_during_a_scheduled_flush_go_with_it() -> None:
    policy = FlushPolicy()
    assert policy.arrived(1.0) == 0.0
    assert policy.arrived(1.0) is None
    assert policy.arrived(1.0005) is None


def test_a_busy_stream_is_coalesced_to_one_flush_per_frame() -> None:
    # 2,000 rows/s for one second: one flush per frame, not one per row
    arrivals = [i / 2000 for i in range(2000)]
    flushes = run(FlushPolicy(), arrivals)
    assert flushes[0] == (0.0, 1)  # the first row of a quiet stream: at once
    gaps = [b[0] - a[0] for a, b in pairwise(flushes)]
    assert min(gaps) >= FRAME_S - 1e-9
    assert 55 <= len(flushes) <= 61
    assert sum(rows for _, rows in flushes) == 2000


def test_under_heavy_load_flushes_space_out_to_the_busy_window() -> None:
    # 100,000 rows/s: a frame's flush carries ~1,700 rows, so the next waits 50 ms
    arrivals = [i / 100_000 for i in range(50_000)]
    flushes = run(FlushPolicy(), arrivals)
    gaps = [b[0] - a[0] for a, b in pairwise(flushes)]
    assert gaps[0] == FRAME_S  # after the first (small) flush, one frame
    assert all(abs(gap - BUSY_S) < 1e-9 for gap in gaps[1:])
    assert len(flushes) <= 0.5 / BUSY_S + 2  # ~10 insertions in 0.5 s, not 50,000


def test_no_row_waits_longer_than_the_spacing_in_force() -> None:
    # a steady stream never pushes a flush back (no debounce starvation)
    arrivals = [i / 100_000 for i in range(50_000)]
    flushes = run(FlushPolicy(), arrivals)
    times = [at for at, _ in flushes]
    for at in arrivals[::997]:
        flushed = next(t for t in times if t >= at)
        assert flushed - at <= BUSY_S + 1e-9
    # and each flush carries at most one busy window of rows (bounded batch)
    assert max(rows for _, rows in flushes) <= 100_000 * BUSY_S + 1


def test_after_a_burst_a_quiet_event_is_flushed_at_once_again() -> None:
    policy = FlushPolicy()
    policy.arrived(0.0)
    policy.flushed(0.0, 10_000)  # a burst: busy spacing
    assert policy.arrived(0.01) == BUSY_S - 0.01  # still inside the busy window
    policy.flushed(0.05, 3)
    assert policy.arrived(1.0) == 0.0  # quiet again: at once


def test_cancel_lets_the_next_arrival_schedule_again() -> None:
    policy = FlushPolicy()
    policy.arrived(0.0)
    policy.cancel()
    assert policy.arrived(0.001) == 0.0
