"""server/heap.py: a server process freezes what start-up built, garbage aside,
and a fan-out's burst of wake-ups does not set off a collection."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import TYPE_CHECKING

import pytest

from server.heap import tune_gc

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only a collection frees it


@pytest.fixture
def restored_gc() -> Iterator[None]:
    """Automatic collection on, as in a server process; afterwards this test
    process's own state again (after a Qt test, desktop/ui/gc_guard.py keeps
    automatic collection off)."""
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        if not enabled:
            gc.disable()


@pytest.mark.usefixtures("restored_gc")
def test_start_up_is_frozen_and_its_garbage_freed_first() -> None:
    kept = _Node()
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    before = gc.get_freeze_count()
    tune_gc()
    assert gone() is None  # collected, not frozen for the process's life
    assert gc.get_freeze_count() > before
    assert kept.me is kept


async def _collections_while_waking(subscribers: int) -> int:
    """Collections of any generation while one event wakes ``subscribers``
    writers, each of which then waits again (as server/response.py's do)."""
    wake, all_woken = asyncio.Event(), asyncio.Event()
    woken = 0

    async def writer() -> None:
        nonlocal woken
        await wake.wait()
        woken += 1
        if woken == subscribers:
            all_woken.set()
        await asyncio.Event().wait()  # the next wait, until cancelled

    writers = [asyncio.create_task(writer()) for _ in range(subscribers)]
    await asyncio.sleep(0)  # every writer waits
    collections = 0

    def count(phase: str, info: dict[str, int]) -> None:
        nonlocal collections
        collections += phase == "start"

    gc.collect()  # generation 0's count starts from zero
    gc.callbacks.append(count)
    try:
        wake.set()  # the broker's fan-out: every writer woken at once
        await all_woken.wait()
    finally:
        gc.callbacks.remove(count)
        for task in writers:
            task.cancel()
        await asyncio.gather(*writers, return_exceptions=True)
    return collections


@pytest.mark.anyio
@pytest.mark.usefixtures("restored_gc")
@pytest.mark.parametrize("tuned", [False, True], ids=["default", "tuned"])
async def test_one_event_to_a_thousand_subscribers_collects_only_by_default(
    tuned: bool,
) -> None:
    if tuned:
        tune_gc()
    else:
        gc.set_threshold(700, 10, 10)  # CPython's default
    collections = await _collections_while_waking(1_000)
    assert (collections == 0) is tuned, collections
