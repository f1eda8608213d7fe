"""A manual connect starts a new session: counters and attempts from zero, and
with another URL a fresh list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.engine.records import Connecting
from desktop.ui.request import RequestForm

from app_driver import drive, open_stream, until

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView
    from desktop.ui.viewer import Viewer


def _connects_to(view: StreamView) -> list[str]:
    viewer_rows = view.handle.session.store.rows() + view.handle.session.store.intake
    return [r.url for r in viewer_rows if isinstance(r, Connecting)]


def _connects(view: StreamView) -> int:
    return len(_connects_to(view))


def test_reconnect_and_a_new_url_start_a_new_session(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    first = f"{base}/api/ticker?rate=200&size=16&count=100000"
    second = f"{base}/api/ticker?rate=200&size=20&count=100000"

    async def scenario() -> None:
        view = open_stream(viewer, first)
        session = view.handle.session
        await until(lambda: session.events >= 20, 10, "events")
        view.bar.connect_button.click()  # Reconnect, same form
        await until(lambda: _connects(view) == 2, 10, "the second connect")
        await until(lambda: session.events >= 5, 10, "events again")
        assert [a.number for a in session.attempts] == [1]
        view.refresh()
        assert view.handle.attempts.rowCount() == 1
        assert session.events < 20 + session.attempts[0].events

        view.bar.set_form(RequestForm(second))
        view.bar.connect_button.click()
        await until(lambda: second in _connects_to(view), 10, "the new stream")
        await until(lambda: session.events >= 5, 10, "the new stream's events")
        viewer.controller.flush()
        rows = session.store.rows()
        assert isinstance(rows[0], Connecting) and rows[0].url == second
        connecting = [r for r in rows if isinstance(r, Connecting)]
        assert [r.url for r in connecting] == [second]
        assert [a.url for a in session.attempts] == [second]

    drive(loop, scenario(), viewer)
