"""Owned tasks: the set a controller keeps, cancelled and awaited together."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Coroutine


class TaskSet:
    """Strong references to running tasks (RUF006), dropped when they finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self.keep(task)
        return task

    def keep(self, task: asyncio.Task[None]) -> None:
        """Own a task made elsewhere, e.g. one being cancelled, until it is done."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_all(self, *others: asyncio.Task[None] | None) -> None:
        """Cancel these tasks and ``others``; return when all of them are done."""
        tasks = [*self._tasks, *(task for task in others if task is not None)]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
