"""Fixtures for the server tests: real uvicorn on 127.0.0.1, port 0, fast settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from liveserver import FAST, LiveServer, start

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from server.settings import Settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_server() -> Iterator[Callable[[Settings], LiveServer]]:
    """Start servers with chosen settings; all are stopped at the end of the test."""
    started: list[LiveServer] = []

    def make(settings: Settings = FAST) -> LiveServer:
        live = start(settings)
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()


@pytest.fixture
def live(make_server: Callable[[Settings], LiveServer]) -> LiveServer:
    return make_server(FAST)


@pytest.fixture
async def client(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    timeout = httpx.Timeout(10, read=10)
    async with httpx.AsyncClient(base_url=live.url, timeout=timeout) as c:
        yield c
