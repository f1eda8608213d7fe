"""Running the engine from tests and checking its records against its contract.

Shared by the engine's tests over real sockets (tests/core/engine/test_stream.py,
test_stream_hostile.py): run a coroutine, collect records, check their order.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import (
    Closed,
    Comment,
    Connecting,
    Error,
    Event,
    Notice,
    Open,
    RawChunk,
    Reconnecting,
    RetryField,
)
from desktop.core.engine.stream import EventStream

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    import httpx

    from desktop.core.engine.records import Record

RETRY_MS = 20


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def options(url: str, **kwargs: Any) -> StreamOptions:
    kwargs.setdefault("retry_ms", RETRY_MS)
    return StreamOptions(url=url, **kwargs)


def check_records(records: list[Record], *, finished: bool = True) -> None:
    """Order invariants every run must satisfy (the engine's side of the tail
    contract in ARCHITECTURE.md)."""
    assert records, "no records"
    first = records[0]
    assert isinstance(first, Connecting), first
    assert first.attempt == 1
    state = "connecting"
    attempt = 1
    connection = 0
    for i, record in enumerate(records[1:], 1):
        prev = records[i - 1]
        assert state != "closed", f"record after Closed: {record!r}"
        if isinstance(record, Connecting):
            assert isinstance(prev, Reconnecting), f"Connecting after {prev!r}"
            assert record.attempt == attempt + 1, (record, attempt)
            attempt = record.attempt
            state = "connecting"
        elif isinstance(record, Open):
            assert isinstance(prev, Connecting), f"Open after {prev!r}"
            assert record.status == 200
            assert record.connection > connection, "connection numbers must increase"
            connection = record.connection
            state = "open"
        elif isinstance(record, Event | Comment):
            assert state == "open", f"{record!r} while {state}"
            assert record.connection == connection
        elif isinstance(record, Notice) and record.kind == "reconnect-storm":
            assert isinstance(records[i + 1], Reconnecting), "storm before the wait"
            assert record.connection == attempt
        elif isinstance(record, RawChunk | RetryField | Notice):
            assert state == "open"
            assert record.connection == connection
        elif isinstance(record, Reconnecting):
            assert state in ("connecting", "open"), f"Reconnecting while {state}"
            assert record.attempt == attempt
            assert record.delay_ms >= 0
            assert isinstance(record.reason, str)
            assert record.reason
            state = "reconnecting"
        elif isinstance(record, Closed):
            assert isinstance(record.reason, str)
            assert record.reason
            state = "closed"
        elif isinstance(record, Error):
            assert record.message
        else:
            raise AssertionError(f"unknown record {record!r}")
        if state == "reconnecting" and i + 1 < len(records):
            assert isinstance(records[i + 1], Connecting | Closed), records[i + 1]
    if finished:
        assert isinstance(records[-1], Closed), records[-1]
        assert sum(isinstance(r, Closed) for r in records) == 1


async def collect(
    opts: StreamOptions,
    *,
    stop: Callable[[Record], bool] | None = None,
    timeout: float = 10.0,  # noqa: ASYNC109 - a test helper's overall budget
    client: httpx.AsyncClient | None = None,
) -> list[Record]:
    """Every record of one stream; ``stop`` breaks out early (then no Closed)."""
    records: list[Record] = []
    async with asyncio.timeout(timeout), EventStream(opts, client=client) as stream:
        async for record in stream:
            records.append(record)
            if stop is not None and stop(record):
                break
    check_records(records, finished=stop is None)
    return records


def kinds(records: list[Record]) -> list[str]:
    return [type(r).__name__ for r in records]


def events(records: list[Record]) -> list[tuple[str, str, str]]:
    return [(r.type, r.data, r.id) for r in records if isinstance(r, Event)]


def of(records: list[Record], cls: type[Any]) -> list[Any]:
    return [r for r in records if isinstance(r, cls)]


async def wait_until(
    predicate: Callable[[], bool],
    timeout: float = 1.0,  # noqa: ASYNC109 - polls another thread's state
) -> float | None:
    """Poll on the running loop; the monotonic time it became true, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        await asyncio.sleep(0.005)
    return None


# -- the happy path and the request --------------------------------------------
