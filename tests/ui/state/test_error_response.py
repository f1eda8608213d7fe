"""A response that is not an event stream, as the app shows it: the timeline's
closed row, its body pretty in the detail pane, its status and headers in the
state panel, its bytes in the Raw tab, the redirects in the attempts list.

The raw server (real sockets on 127.0.0.1) sends each response byte for byte.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from desktop.core.engine.records import Closed
from desktop.core.engine.state import State
from desktop.ui.state.attempts import attempt_detail
from desktop.ui.timeline.model import RECORD_ROLE

from app_driver import drive, open_stream, until
from rawserver import RawServer, redirect, respond

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer

WHY = {"error": "invalid_token", "detail": "the token expired", "scopes": ["read"]}


def _closed_row(view: StreamView) -> int:
    proxy = view.proxy
    return next(
        r
        for r in range(proxy.rowCount())
        if isinstance(proxy.index(r, 0).data(RECORD_ROLE), Closed)
    )


def test_a_401_json_body_is_shown_everywhere(loop: AppLoop, viewer: Viewer) -> None:
    body = json.dumps(WHY).encode()
    error = respond(
        401,
        body,
        content_type="application/json",
        headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')],
    )
    # by path: the jobs panel's GET /api/info may come first
    paths = {"/stream": redirect(302, "/login"), "/login": error}
    with RawServer(paths=paths) as raw:

        async def scenario() -> None:
            view = open_stream(
                viewer, raw.url("/stream"), retry_ms=100, user="ann", password="pw"
            )
            session = view.handle.session
            await until(lambda: session.state is State.CLOSED, 10, "the close")
            await asyncio.sleep(0.1)  # the timeline's flush
            view.refresh()
            panel = view.state
            assert panel.values["status"].text() == "401"
            assert panel.values["redirects"].text() == "302 → /login"
            assert raw.requests[-1].header("Authorization") == "Basic YW5uOnB3"
            headers = panel.headers.toPlainText()
            assert 'www-authenticate: Bearer error="invalid_token"' in headers
            assert "content-type: application/json" in headers

            row = _closed_row(view)
            assert "invalid_token" in view.proxy.index(row, 0).model().data(
                view.proxy.index(row, view.proxy.columnCount() - 1)
            )
            view.table.selectRow(row)
            detail = view.detail
            assert detail.shown_text() == json.dumps(WHY, indent=2)
            assert detail.highlighter.enabled
            assert "HTTP 401" in detail.title.text() and "JSON" in detail.title.text()
            note = detail.note.text()
            assert note.startswith("HTTP/1.1 401 Unauthorized · application/json")
            assert "after 1 redirect" in note

            assert session.raw.connection(1) is not None
            assert session.raw.connection(1).data() == body
            view.bottom.setCurrentWidget(view.raw)
            view.refresh()
            await until(lambda: "invalid_token" in view.raw.text.toPlainText(), 5)

            tip = attempt_detail(session.attempts[-1])
            assert "HTTP 302 → /login" in tip and "401 Unauthorized" in tip

        drive(loop, scenario(), viewer)


def test_a_200_html_page_shows_its_status_not_a_dash(
    loop: AppLoop, viewer: Viewer
) -> None:
    page = respond(200, b"<html><h1>Sign in</h1></html>", content_type="text/html")
    with RawServer(paths={"/stream": page}) as raw:

        async def scenario() -> None:
            view = open_stream(viewer, raw.url("/stream"), retry_ms=100)
            session = view.handle.session
            await until(lambda: session.state is State.CLOSED, 10, "the close")
            await asyncio.sleep(0.1)
            view.refresh()
            assert view.state.values["status"].text() == "200"
            assert "content-type: text/html" in view.state.headers.toPlainText()
            view.table.selectRow(_closed_row(view))
            assert view.detail.shown_text() == "<html><h1>Sign in</h1></html>"
            assert not view.detail.highlighter.enabled

        drive(loop, scenario(), viewer)


def test_a_cross_origin_redirect_says_what_it_did_not_send(
    loop: AppLoop, viewer: Viewer
) -> None:
    gone = respond(404, b"gone", content_type="text/plain")
    with RawServer(paths={"/there": gone}) as raw:
        elsewhere = raw.url("/there").replace("127.0.0.1", "localhost")
        raw.route("/stream", redirect(307, elsewhere))

        async def scenario() -> None:
            view = open_stream(
                viewer, raw.url("/stream"), retry_ms=100, user="ann", password="pw"
            )
            session = view.handle.session
            await until(lambda: session.state is State.CLOSED, 10, "the close")
            view.refresh()
            shown = view.state.values["redirects"].text()
            assert shown == f"307 → {elsewhere} (not sent on: Authorization)"
            tip = attempt_detail(session.attempts[-1])
            assert "another origin: not sent on: Authorization" in tip

        drive(loop, scenario(), viewer)
    there = [r for r in raw.requests if r.path == "/there"]
    assert there and there[0].header("Authorization") is None
