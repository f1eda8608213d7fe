"""The state panel's "Connection" row: HTTP version and proxy, password masked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import Connecting, Open
from desktop.ui.session import StreamSession
from desktop.ui.state.panel import StatePanel

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

PROXY = "http://bob:••••••••@127.0.0.1:3128"


def test_connection_row_shows_version_and_proxy(qtbot: QtBot) -> None:
    panel = StatePanel()
    qtbot.addWidget(panel)
    session = StreamSession(StreamOptions("https://127.0.0.1:8443/events"))
    panel.show_session(session, 0.0, 0.0)
    assert panel.values["route"].text() == "—"
    session.ingest([Connecting(1, session.options.url, "", 1.0, 1.0, PROXY)])
    panel.show_session(session, 1.0, 0.0)
    assert panel.values["route"].text() == f"via proxy {PROXY}"
    opened = Open(200, (), 1, session.options.url, 2.0, 2.0, "HTTP/2")
    session.ingest([opened])
    panel.show_session(session, 2.0, 0.0)
    assert panel.values["route"].text() == f"HTTP/2 · via proxy {PROXY}"
    session.ingest([Connecting(2, session.options.url, "", 3.0, 3.0)])
    session.ingest([Open(200, (), 2, session.options.url, 4.0, 4.0, "HTTP/1.1")])
    panel.show_session(session, 4.0, 0.0)
    assert panel.values["route"].text() == "HTTP/1.1 · direct"
