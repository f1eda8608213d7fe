"""Driving the app from tests as a user would: the loop, the server's API, waiting.

Helpers only; the fixtures that use them are in ``tests/ui/conftest.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import TYPE_CHECKING, TypeVar

from desktop.ui.request import RequestForm

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer

T = TypeVar("T")
SERVER_ARGS = ("--retry", "200", "--ping", "0.3")


def api(base: str, method: str, path: str, body: object = None) -> object:
    """A blocking call to the server (from tests only, outside the loop)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


async def api_async(base: str, method: str, path: str, body: object = None) -> object:
    return await asyncio.to_thread(api, base, method, path, body)


def drive(
    loop: AppLoop,
    coro: Coroutine[object, object, T],
    app: Viewer | None = None,
    limit_s: float = 30,
) -> T:
    """Run ``coro`` on the loop; shut ``app`` down inside the same run.

    qasync's run_until_complete processes Qt events once more after the loop
    stopped; a stream task stepped then has no running loop (anyio fails), so
    every task must be gone before it returns.
    """

    async def guarded() -> T:
        try:
            return await asyncio.wait_for(coro, limit_s)
        finally:
            if app is not None:
                await app.shutdown()

    result: T = loop.run_until_complete(guarded())
    return result


async def until(
    predicate: Callable[[], object], limit_s: float = 10.0, what: str = ""
) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def open_stream(app: Viewer, url: str, **form: object) -> StreamView:
    """What a user does: new tab, type the URL, Connect (call inside the loop)."""
    view = app.window.add_stream(app.controller.new_stream())
    view.bar.set_form(RequestForm(url, **form))  # type: ignore[arg-type]
    view.bar.connect_button.click()
    return view
