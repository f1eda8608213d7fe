"""RateSeries: per-second bins from running totals, bounded memory, reconnect gaps."""

from __future__ import annotations

import time

import pytest

from desktop.core.insight.rates import MAX_GAPS, Gap, RateSeries

WALL = 1_700_000_000.0


def feed(series: RateSeries, at: float, events: int, nbytes: int, comments: int = 0):
    series.update(at, WALL + at, events, nbytes, comments)


def test_counts_land_in_the_second_they_arrived() -> None:
    series = RateSeries(seconds=10)
    feed(series, 100.1, 3, 300)
    feed(series, 100.9, 5, 500)  # totals: two more events in the same second
    feed(series, 101.5, 6, 640, 1)
    feed(series, 103.0, 10, 1000)
    window = series.window(104.2)  # complete seconds 94 .. 103
    assert window.first == 94
    assert window.end == 104
    assert window.events == [0] * 6 + [5, 1, 0, 4]
    assert window.bytes == [0] * 6 + [500, 140, 0, 360]
    assert window.comments == [0] * 6 + [0, 1, 0, 0]
    assert window.since == pytest.approx(100.1)
    assert window.wall_offset == pytest.approx(WALL)


def test_the_second_under_way_is_not_shown_until_it_is_complete() -> None:
    series = RateSeries(seconds=5)
    feed(series, 10.2, 4, 40)
    assert series.window(10.7).events == [0] * 5
    assert series.window(11.0).events == [0, 0, 0, 0, 4]


def test_quiet_seconds_after_the_last_read_count_as_zero() -> None:
    series = RateSeries(seconds=5)
    feed(series, 10.5, 7, 70)
    assert series.window(13.1).events == [0, 0, 7, 0, 0]
    assert series.window(16.0).events == [0] * 5  # scrolled out


def test_the_ring_wraps_and_old_seconds_are_cleared() -> None:
    series = RateSeries(seconds=4)
    total = 0
    for second in range(20):
        total += second + 1
        feed(series, second + 0.5, total, total * 10)
    assert series.window(20.0).events == [17, 18, 19, 20]
    # a jump longer than the window clears everything at once
    feed(series, 100.5, total + 1, total * 10 + 10)
    assert series.window(101.0).events == [0, 0, 0, 1]
    assert series.window(101.0).bytes == [0, 0, 0, 10]


def test_a_window_in_the_past_leaves_out_seconds_the_ring_no_longer_holds() -> None:
    series = RateSeries(seconds=3)
    for second in range(10):
        feed(series, second + 0.5, second + 1, 0)
    # seconds 6 .. 9 are held; asking for 4 .. 6 gives only what is still known
    assert series.window(7.0).events == [0, 0, 1]


def test_nothing_new_is_no_work_and_a_reset_counter_counts_from_zero() -> None:
    series = RateSeries(seconds=5)
    feed(series, 1.5, 10, 100)
    feed(series, 2.5, 10, 100)  # state records only: totals unchanged
    assert series.last_at == 2.0
    feed(series, 3.5, 2, 120)  # events counter started over at 0
    assert series.window(4.0).events == [0, 0, 10, 0, 2]


def test_reads_out_of_order_go_to_their_own_second_or_are_dropped() -> None:
    series = RateSeries(seconds=3)
    feed(series, 10.5, 1, 10)
    feed(series, 9.5, 2, 20)  # an earlier second still in the ring
    feed(series, 2.0, 3, 30)  # far older than the window: dropped
    assert series.window(11.0).events == [0, 1, 1]


def test_gaps_run_from_a_disconnect_to_the_next_open() -> None:
    series = RateSeries(seconds=60)
    series.connected(0.2)  # no gap open: nothing to end
    series.disconnected(10.0)
    series.disconnected(10.5)  # Closed after Reconnecting: the same gap
    series.connected(12.25)
    series.disconnected(30.0)
    window = series.window(40.0)
    assert window.gaps == [Gap(10.0, 12.25), Gap(30.0, None)]
    assert series.last_at == 30.0
    assert series.since == 0.2


def test_only_gaps_that_touch_the_window_are_returned_and_old_ones_pruned() -> None:
    series = RateSeries(seconds=10)
    series.disconnected(1.0)
    series.connected(2.0)
    series.disconnected(50.0)
    series.connected(51.0)
    assert series.window(52.0).gaps == [Gap(50.0, 51.0)]
    series.disconnected(60.0)  # the first gap is long gone: pruned
    assert len(series._gaps) == 2


def test_gaps_are_bounded_even_when_nothing_is_old_enough_to_prune() -> None:
    series = RateSeries(seconds=300)
    for i in range(MAX_GAPS + 500):
        series.disconnected(i * 0.01)
        series.connected(i * 0.01 + 0.005)
    assert len(series._gaps) == MAX_GAPS
    assert series.window(20.0).gaps[-1].end == pytest.approx(
        (MAX_GAPS + 499) * 0.01 + 0.005
    )


def test_a_window_needs_a_second() -> None:
    with pytest.raises(ValueError, match="at least one second"):
        RateSeries(seconds=0)


def test_an_update_is_cheap_and_independent_of_the_events_it_accounts_for() -> None:
    """One call per read with running totals: 1 or 1,000 events cost the same."""
    timings = []
    for per_read in (1, 1_000):
        series = RateSeries()
        start = time.perf_counter()
        for i in range(50_000):  # 1,000 reads a second for 50 s
            feed(series, 1000 + i / 1000, i * per_read, i * 40 * per_read, i // 100)
        timings.append(time.perf_counter() - start)
        window = series.window(1050.0)
        assert sum(window.events) == pytest.approx(49_999 * per_read, abs=per_read)
        assert window.events[-1] == pytest.approx(1_000 * per_read, abs=per_read)
    assert max(timings) < 0.5, f"{timings} s for 50,000 updates"
