"""Fixtures for the engine tests: the scripted raw server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from rawserver import RawServer

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    """A raw server with no scripts yet: add them with ``raw_server.add(...)``."""
    with RawServer() as server:
        yield server
