"""A reopened recording shows the state at save time as such, and no live warnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.engine.options import StreamOptions
from desktop.core.engine.records import (
    Connecting,
    DelaySource,
    Event,
    Open,
    Outcome,
    Reconnecting,
)
from desktop.core.files.recording import header_for, save_recording
from desktop.ui.viewer import Viewer

from app_driver import drive

if TYPE_CHECKING:
    from pathlib import Path

    from desktop.core.engine.records import Record
    from desktop.ui.loop import AppLoop
    from desktop.ui.stream_view import StreamView

URL = "http://127.0.0.1:9/s"


def _reopen(loop: AppLoop, path: Path, check: object) -> None:
    app = Viewer(None)
    app.recording = str(path)

    async def run() -> None:
        app.start()
        view = app.window.current_view()
        assert view is not None and view.handle.task is not None
        await view.handle.task
        app.controller.flush()
        view.refresh()
        assert callable(check)
        check(view)

    try:
        drive(loop, run(), app)
    finally:
        app.window.close()
        app.window.deleteLater()


def _save(path: Path, records: list[Record], clock: float) -> None:
    header = header_for(StreamOptions(URL), raw=False, clock=clock)
    save_recording(path, header, records)


def _opened() -> list[Record]:
    return [
        Connecting(1, URL, "", 0.0, 1e9),
        Open(200, (("content-type", "text/event-stream"),), 1, URL, 0.1, 1e9 + 0.1),
        *(
            Event("message", str(i), str(i), None, 1, 0.2 + i, 1e9 + i)
            for i in range(3)
        ),
    ]


def test_a_recording_saved_long_after_its_last_byte_warns_of_no_idle(
    loop: AppLoop, tmp_path: Path
) -> None:
    path = tmp_path / "quiet.ndjson"
    _save(path, _opened(), clock=500.0)  # saved minutes after the last byte

    def check(view: StreamView) -> None:
        keys = [advice.key for advice in view.handle.session.advisor.warnings()]
        assert "idle" not in keys

    _reopen(loop, path, check)


def test_a_recording_saved_while_reconnecting_says_so_at_save(
    loop: AppLoop, tmp_path: Path
) -> None:
    path = tmp_path / "waiting.ndjson"
    dropped = Reconnecting(
        3000, DelaySource.DEFAULT, "eof", Outcome.EOF, 1, 3.0, 1e9 + 3
    )
    _save(path, [*_opened(), dropped], clock=5.403)

    def check(view: StreamView) -> None:
        badge = view.state.badge.text()
        assert badge.startswith("Reconnecting in") and badge.endswith("(at save)")

    _reopen(loop, path, check)


def test_a_recordings_rate_plot_shows_its_rates_on_its_own_clock(
    loop: AppLoop, tmp_path: Path
) -> None:
    path = tmp_path / "rates.ndjson"
    ticks = [
        Event("message", str(i), str(i), None, 1, 1.0 + i / 10, 1e9 + 1 + i / 10)
        for i in range(300)
    ]
    _save(path, [*_opened()[:2], *ticks], clock=31.5)  # saved while open

    def check(view: StreamView) -> None:
        view.bottom.setCurrentWidget(view.rate)
        view.refresh()
        plot = view.rate.plot
        assert plot is not None and plot.current is not None
        assert sum(plot.current.events) >= 290  # ten a second, on screen

    _reopen(loop, path, check)
