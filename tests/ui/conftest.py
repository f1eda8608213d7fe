"""App tests: a fresh qasync loop per test on pytest-qt's qapp, real bundled servers.

Coroutines are driven with ``loop.run_until_complete`` (see notes/qt-stack.md:
``create_task`` + ``qtbot.waitUntil`` does not run httpx).  The shared server is
the child process the app itself starts (``ServerChild``), with short retry/ping.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import TYPE_CHECKING, TypeVar

import pytest

from desktop.ui.request import RequestForm
from desktop.ui.viewer import Viewer
from tests.children import start_child, stop_child
from tests.qtloop import app_loop

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator

    from PySide6.QtWidgets import QApplication

    from desktop.ui.loop import AppLoop
    from desktop.ui.server_child import ServerChild
    from desktop.ui.stream_view import StreamView

T = TypeVar("T")
SERVER_ARGS = ("--retry", "200", "--ping", "0.3")


@pytest.fixture(scope="session")
def server() -> Iterator[ServerChild]:
    """One bundled server for the tests that do not break it (lab is reset after)."""
    child = start_child(SERVER_ARGS)
    yield child
    stop_child(child)


@pytest.fixture
def base(server: ServerChild) -> Iterator[str]:
    assert server.url is not None
    yield server.url
    api(server.url, "POST", "/api/lab/reset")


def api(base: str, method: str, path: str, body: object = None) -> object:
    """A blocking call to the server (from tests only, outside the loop)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


async def api_async(base: str, method: str, path: str, body: object = None) -> object:
    return await asyncio.to_thread(api, base, method, path, body)


@pytest.fixture(autouse=True)
def _test_keyring() -> None:
    """No test touches the user's keyring: keyring's "none found" backend,
    unless a test sets a keyring of its own (test_profiles.py)."""
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[AppLoop]:
    yield from app_loop(qapp)


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


@pytest.fixture
def viewer(loop: AppLoop) -> Iterator[Viewer]:
    """The app without a bundled child: tests open streams on the shared server."""
    app = Viewer(None)
    app.window.show()
    yield app
    drive(loop, app.shutdown())  # normally done already, by drive(..., app)
    app.window.close()
    app.window.deleteLater()


def open_stream(app: Viewer, url: str, **form: object) -> StreamView:
    """What a user does: new tab, type the URL, Connect (call inside the loop)."""
    view = app.window.add_stream(app.controller.new_stream())
    view.bar.set_form(RequestForm(url, **form))  # type: ignore[arg-type]
    view.bar.connect_button.click()
    return view
