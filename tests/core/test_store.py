"""The record store: bounds, the dropped count, trimming as a view sees it, cursors."""

from __future__ import annotations

from desktop.core.engine.records import Comment
from desktop.core.store import DEFAULT_RETENTION, RecordStore, Row


def rows(first: int, last: int) -> list[Row]:
    """Rows ``first`` to ``last - 1``, told apart by their text."""
    return [Comment(str(i), 1, float(i), float(i)) for i in range(first, last)]


def texts(found: list[Row]) -> list[int]:
    return [int(row.text) for row in found]  # type: ignore[union-attr]


def test_rows_wait_until_published_then_are_numbered_from_base() -> None:
    store = RecordStore(retention=10)
    store.extend(rows(0, 3))
    assert (store.waiting, store.published, store.rows()) == (3, 0, [])
    assert store.at_seq(0) is None  # not numbered while waiting
    assert store.publish() == 3
    assert texts(store.rows()) == [0, 1, 2]
    assert texts(store.rows(-1)) == [2]
    store.extend(rows(3, 5))
    assert texts(store.rows()) == [0, 1, 2]  # new rows wait again
    assert [row.text for row in store.kept()] == ["0", "1", "2", "3", "4"]  # type: ignore[union-attr]
    assert store.at_seq(2) is store.records[2]
    assert RecordStore().retention == DEFAULT_RETENTION


def test_a_flush_trims_the_oldest_published_rows_as_one_announced_removal() -> None:
    store = RecordStore(retention=5)
    store.extend(rows(0, 4))
    store.publish()
    store.extend(rows(4, 7))
    # What a view announces before the store changes: 2 published rows go.
    assert store.overflow() == 2
    assert store.trim() == 2
    assert (store.base, store.published, store.waiting, store.dropped) == (2, 2, 3, 2)
    assert store.publish() == 3
    assert texts(store.rows()) == [2, 3, 4, 5, 6]
    assert store.at_seq(2) is store.records[0] and store.at_seq(1) is None
    assert store.overflow() == 0 and store.trim() == 0


def test_a_flood_beyond_retention_drops_every_published_row_and_old_waiting_ones() -> (
    None
):
    store = RecordStore(retention=3)
    store.extend(rows(0, 2))
    store.publish()
    store.extend(rows(2, 7))  # five new rows for a store of three
    assert store.overflow() == 2  # all the published ones
    assert store.trim() == 4
    assert (store.published, store.waiting, store.dropped) == (0, 3, 4)
    store.publish()
    assert texts(store.rows()) == [4, 5, 6]
    assert store.at_seq(store.base) is store.records[0]


def test_rows_nobody_publishes_stay_bounded_and_published_ones_stay_put() -> None:
    store = RecordStore(retention=4)
    store.extend(rows(0, 2))
    store.publish()
    store.extend(rows(2, 10))  # eight waiting: twice retention, still all kept
    assert (store.waiting, store.dropped) == (8, 0)
    store.extend(rows(10, 11))  # one more: the oldest waiting go, down to four
    assert (store.waiting, store.dropped) == (4, 5)
    assert texts(store.rows()) == [0, 1]  # what a paused view shows is untouched
    assert texts(store.kept()) == [0, 1, 7, 8, 9, 10]
    store.publish()
    assert texts(store.rows()) == [0, 1, 7, 8, 9, 10]  # numbers have no gap
    assert store.at_seq(2) is store.records[2]


def test_the_per_row_append_is_capped_once_per_read() -> None:
    store = RecordStore(retention=2)
    for row in rows(0, 5):
        store.intake.append(row)
    assert store.waiting == 5  # the hot path only appends
    store.cap()
    assert (texts(store.kept()), store.dropped) == ([3, 4], 3)


def test_a_lower_retention_applies_at_the_next_trim_and_never_below_one() -> None:
    store = RecordStore(retention=10)
    store.extend(rows(0, 6))
    store.publish()
    store.set_retention(4)
    assert store.published == 6  # nothing changes behind a view's back
    assert store.overflow() == 2 and store.trim() == 2
    assert texts(store.rows()) == [2, 3, 4, 5]
    store.set_retention(0)
    assert store.retention == 1


def test_a_paused_view_trims_what_it_shows_and_leaves_the_waiting_rows() -> None:
    store = RecordStore(retention=6)
    store.extend(rows(0, 5))
    store.publish()
    store.extend(rows(5, 9))  # waiting behind a pause
    store.set_retention(3)
    assert store.overflow(waiting=False) == 2
    assert store.trim(waiting=False) == 2
    assert (texts(store.rows()), store.waiting, store.base) == ([2, 3, 4], 4, 2)
    assert store.overflow() == 3  # resuming: the newest three of all stay
    store.trim()
    store.publish()
    assert texts(store.rows()) == [6, 7, 8]


def flush(store: RecordStore) -> None:
    store.trim()
    store.publish()


def test_a_cursor_reads_each_published_row_once_and_skips_what_was_dropped() -> None:
    store = RecordStore(retention=4)
    store.extend(rows(0, 3))
    assert store.since(0) == ([], 0)  # waiting rows are not read
    flush(store)
    found, cursor = store.since(0)
    assert (texts(found), cursor) == ([0, 1, 2], 3)
    assert store.since(cursor) == ([], 3)
    store.extend(rows(3, 5))
    flush(store)
    found, cursor = store.since(cursor)
    assert (texts(found), cursor) == ([3, 4], 5)
    store.extend(rows(5, 9))
    flush(store)
    store.extend(rows(9, 11))
    flush(store)  # rows 5 and 6 went before the consumer looked again
    assert store.base == 7
    found, cursor = store.since(cursor)
    assert (texts(found), cursor) == ([7, 8, 9, 10], 11)
    assert store.since(cursor) == ([], 11)


def test_clear_forgets_rows_and_the_dropped_count_and_numbers_on() -> None:
    store = RecordStore(retention=2)
    store.extend(rows(0, 3))
    flush(store)
    store.extend(rows(3, 4))  # one waiting: a clear takes it too
    assert store.dropped == 1
    found, cursor = store.since(0)
    assert (texts(found), cursor) == ([1, 2], 2)
    assert store.clear() == 3
    assert (store.published, store.waiting, store.dropped, store.rows()) == (
        0,
        0,
        0,
        [],
    )
    store.extend(rows(4, 5))
    flush(store)
    found, cursor = store.since(cursor)  # a cursor from before the clear
    assert (texts(found), cursor) == ([4], 3)
    assert store.at_seq(2) is found[0]
