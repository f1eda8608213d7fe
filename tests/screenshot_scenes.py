"""More scenes for tests/ui/screenshots.py: the connection bar's remote-service
tabs and the doctor's card, each against a real server on 127.0.0.1.

``15-proxy.png`` (a ticker through tinyproxy with Basic auth: the Proxy tab and
the state panel's Connection row), ``16-credentials.png`` (the Credentials tab
of a stream that sends them), ``17-error-response.png`` (a 401 JSON body after a
redirect, from tests/rawserver.py) and ``18-doctor.png`` (Check this server… on
a stream the lab holds back like a buffering proxy).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.ui.request import RequestForm

from proxies import tinyproxy
from rawserver import RawServer, redirect, respond

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from desktop.ui.main_window import MainWindow
    from desktop.ui.stream_view import StreamView


@dataclass(frozen=True, slots=True)
class Stage:
    """What a scene needs of the running app."""

    window: MainWindow
    base: str  # the bundled server
    shot: Callable[[str], Awaitable[None]]
    out: Path
    suffix: str


async def _until(predicate: Callable[[], object], limit_s: float = 15.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("scene did not get ready")
        await asyncio.sleep(0.05)


def _post(base: str, path: str, body: object) -> None:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    urllib.request.urlopen(request, timeout=10).read()


async def _stop(view: StreamView) -> None:
    view.bar.more.setChecked(False)
    view.bar.stop_button.click()
    await _until(lambda: not view.handle.running)


async def proxy_scene(stage: Stage) -> None:
    """A ticker through tinyproxy asking for Basic auth; the password hidden."""
    window = stage.window
    with tinyproxy(Path(tempfile.mkdtemp()), auth="bob:s3cret-pw") as proxy:
        view = window.new_stream()
        host = proxy.removeprefix("http://")
        url = f"{stage.base}/api/ticker?rate=4&size=24&count=100000"
        view.bar.set_form(RequestForm(url, proxy=f"http://bob:s3cret-pw@{host}"))
        view.bar.connect_button.click()
        await _until(lambda: view.handle.session.events >= 8)
        window.jobs_dock.hide()  # shown again for the new tab's server
        view.bar.more.setChecked(True)
        view.bar.tabs.setCurrentWidget(view.bar.proxy.parentWidget())
        window.refresh()
        await stage.shot("15-proxy")
        await _stop(view)


async def credentials_scene(stage: Stage) -> None:
    """Basic auth, two cookies and a cookie file, sent to the bundled server."""
    window = stage.window
    jar = Path(tempfile.mkdtemp()) / "cookies.txt"
    jar.write_text(
        "# Netscape HTTP Cookie File\n"
        "127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tc0ffee-42\n"
    )
    view = window.new_stream()
    view.bar.set_form(
        RequestForm(
            f"{stage.base}/api/ticker?rate=2&size=16&count=100000",
            user="ann",
            password="correct-horse",
            cookies="theme=dark; tz=UTC",
            cookie_file=str(jar),
        )
    )
    view.bar.connect_button.click()
    await _until(lambda: view.handle.session.events >= 3)
    window.jobs_dock.hide()  # shown again for the new tab's server
    view.bar.more.setChecked(True)
    view.bar.tabs.setCurrentWidget(view.bar.credentials)
    window.refresh()
    await stage.shot("16-credentials")
    await _stop(view)


_EXPIRED = {
    "error": "invalid_token",
    "error_description": "The access token expired at 2026-12-02T07:00:00Z",
    "required_scopes": ["events:read"],
    "request_id": "req_7f3a9c",
}


async def error_scene(stage: Stage) -> None:
    """A redirect, then a 401 whose JSON body says why: body, headers, hop."""
    from PySide6.QtWidgets import QSplitter

    from desktop.core.engine.records import Closed
    from desktop.ui.timeline.model import RECORD_ROLE

    window = stage.window
    body = json.dumps(_EXPIRED).encode()
    denied = respond(
        401,
        body,
        content_type="application/json",
        headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')],
    )
    paths = {"/events": redirect(302, "/v2/events"), "/v2/events": denied}
    with RawServer(paths=paths, default=respond(404)) as server:
        view = window.new_stream()
        view.bar.set_form(
            RequestForm(server.url("/events"), headers=(("Authorization", "Bearer x"),))
        )
        view.bar.connect_button.click()
        await _until(lambda: view.handle.session.failed)
        await asyncio.sleep(0.3)  # the last flush
        proxy = view.proxy
        for row in range(proxy.rowCount() - 1, -1, -1):
            if isinstance(proxy.index(row, 0).data(RECORD_ROLE), Closed):
                view.table.selectRow(row)
                break
        # Two rows: the room goes to the body in the detail pane.
        view.findChild(QSplitter, "timelineSplit").setSizes([160, 640])
        window.refresh()
        await stage.shot("17-error-response")


async def doctor_scene(stage: Stage) -> None:
    """Check this server… on a ticker the lab holds back like a buffering proxy."""
    from desktop.core.doctor.probe import Plan

    window = stage.window
    tag = "doctor"
    _post(stage.base, "/api/lab/encoding", {"mode": "buffer", "tag": tag})
    view = window.new_stream()
    url = f"{stage.base}/api/ticker?rate=100&size=16&count=100000&lab_tag={tag}"
    view.bar.set_form(RequestForm(url))
    window.check_server()
    card = window.doctor_card
    assert card is not None
    card.plan = Plan(duration_s=6.0)
    card.run()  # a shorter watch than the default; Run again replaces the first
    await _until(lambda: card.complete, 60)
    view.bar.stop_button.click()
    for row, check_id in enumerate(card.model.ids):
        if check_id == "delivery.bursts":
            card.table.selectRow(row)
    await asyncio.sleep(0.2)
    path = stage.out / f"18-doctor{stage.suffix}.png"
    card.grab().save(str(path))
    print(path)
    card.close()
    _post(stage.base, "/api/lab/reset", {"tag": tag})
