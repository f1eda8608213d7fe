"""The window's default layout at common screen sizes, held by its geometry.

The offscreen platform's virtual screen is 800x800, so each test sizes the
window explicitly.  What must hold at 1366x768, 1440x900 and 1920x1080: the
timeline shows 15 rows or more, its Data column has 40 % of its width, the
state panel is not clipped and no panel shows a horizontal scroll bar; with
the jobs dock shown (the bundled server has jobs) and hidden, and with the Lab.
125 % scaling is checked in a child process (QT_SCALE_FACTOR is read once).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QScrollArea

from desktop.ui.main_window import JOBS_KEY

from app_driver import drive, open_stream, until
from layout_probe import geometry
from rawserver import Hang, RawServer, sse

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from desktop.ui.loop import AppLoop
    from desktop.ui.main_window import MainWindow
    from desktop.ui.viewer import Viewer

SIZES = ((1366, 768), (1440, 900), (1920, 1080))
MIN_ROWS = 15
DATA_SHARE = 0.40
URL_SHARE = 0.45  # of the connection bar, for the URL field


async def _assert_fits(window: MainWindow, what: str) -> None:
    await asyncio.sleep(0.05)  # laid out by the loop (no processEvents in a task)
    seen = geometry(window)
    assert seen["rows"] >= MIN_ROWS, (what, seen)  # type: ignore[operator]
    assert seen["data"] >= DATA_SHARE, (what, seen)  # type: ignore[operator]
    assert seen["hscroll"] == [], (what, seen)
    assert not seen["state_clipped"], (what, seen)
    assert seen["attempts_fit"], (what, seen)
    # Beyond its rows, the timeline leaves the Detail tab its form unscrolled.
    assert not seen["detail_scrolls"], (what, seen)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_default_window_gives_the_stream_the_room(
    loop: AppLoop, viewer: Viewer, base: str, width: int, height: int
) -> None:
    window = viewer.window

    async def scenario() -> None:
        window.resize(width, height)
        view = window.new_stream()
        view.bar.url.setText(f"{base}/api/events")
        await until(lambda: window.isVisible(), 2, "the window")
        await _assert_fits(window, "no server yet, no jobs dock")
        assert not window.jobs_dock.isVisible()

        view.connect_stream()  # the bundled server has jobs: the dock comes
        await until(lambda: window.jobs_dock.isVisible(), 10, "the jobs dock")
        await until(lambda: window.jobs_dock.width() > 100, 2, "its width")
        await _assert_fits(window, "jobs dock shown")

        window.jobs_dock.toggleViewAction().trigger()  # View → Jobs: off
        assert not window.jobs_dock.isVisible()
        assert window.prefs.settings.flag(JOBS_KEY, True) is False
        await _assert_fits(window, "jobs dock hidden")

        window.jobs_dock.toggleViewAction().trigger()
        window.show_lab(True)  # the Lab has the window; jobs wait beside
        lab = window.lab
        assert lab is not None
        await until(lambda: lab.dock.width() == window.width(), 2, "the lab's width")
        assert not window.jobs_dock.isVisible()
        lab.panel.focus.setChecked(False)  # docked under the stream tabs
        await until(lambda: window.jobs_dock.isVisible(), 2, "the jobs dock back")
        window.show_lab(False)
        await until(lambda: window.centralWidget().isVisible(), 2, "the stream tabs")
        await _assert_fits(window, "after the Lab")

    drive(loop, scenario(), viewer)


def _unscrolled(widget: QWidget, area: QScrollArea) -> bool:
    """``widget`` shows whole in ``area`` as it is, scrolled to the top."""
    viewport = area.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    inside = viewport.rect().contains(QRect(top_left, widget.size()))
    return inside and widget.isVisible() and area.verticalScrollBar().value() == 0


@pytest.mark.parametrize(("width", "height"), SIZES[:2])
def test_the_lab_docked_leaves_the_timeline_its_rows(
    loop: AppLoop, viewer: Viewer, width: int, height: int
) -> None:
    """Docked under the stream tabs, the Lab left 2.5 rows of the timeline at
    both sizes (the Detail tab's minimum height and the dock's 420 px); now the
    timeline keeps its 15 rows and the Lab still shows its fault bar and the
    Run lesson button without scrolling."""
    window = viewer.window

    async def scenario() -> None:
        window.resize(width, height)
        window.new_stream()
        await until(lambda: window.isVisible(), 2, "the window")
        window.show_lab(True)
        lab = window.lab
        assert lab is not None
        await until(lambda: lab.dock.width() == window.width(), 2, "the lab's width")
        lab.panel.focus.setChecked(False)  # docked under the stream tabs
        await until(lambda: window.centralWidget().isVisible(), 2, "the stream tabs")
        await asyncio.sleep(0.1)  # the dock sized after the layout ran
        seen = geometry(window)
        assert seen["rows"] >= MIN_ROWS, seen  # type: ignore[operator]
        assert seen["hscroll"] == [], seen
        area = lab.dock.widget()
        assert isinstance(area, QScrollArea)
        for widget in (lab.panel.fault_bar, lab.lessons.run_button):
            assert _unscrolled(widget, area), (widget.objectName(), seen)
        assert window.height() == height  # the lab made nothing taller

    drive(loop, scenario(), viewer)


_LONG_ID = "7f3c9a2e-5b1d-4e8f-9c6a-0d2b4e6f8a1c:stream-{}:{}"


@pytest.mark.parametrize(("width", "height"), SIZES[:2])
def test_attempts_fit_without_scrolling(
    loop: AppLoop, viewer: Viewer, width: int, height: int
) -> None:
    """The Attempts tab in front, beside the state panel and the jobs dock:
    eight columns of 780 px put a horizontal scroll bar under six attempts at
    1366x768.  Long Last-Event-IDs are elided, and every column fits."""
    window = viewer.window
    chunks = [
        f"retry: 30\nid: {_LONG_ID.format(n, 1000 * n)}\ndata: {n}\n\n".encode()
        for n in range(1, 7)
    ]
    scripts = [sse(chunk) for chunk in chunks]
    # The jobs API never answers, so the dock stays as the test shows it.
    with RawServer(
        scripts, default=(Hang(20),), paths={"/api/info": (Hang(20),)}
    ) as raw:

        async def scenario() -> None:
            window.resize(width, height)
            view = open_stream(viewer, raw.url())
            attempts = view.handle.session.attempts
            await until(lambda: len(attempts) >= 7, 10, "seven attempts")
            window.jobs_dock.show()
            await asyncio.sleep(0.05)
            window.size_jobs_dock()
            view.bottom.setCurrentWidget(view.attempts)
            window.refresh()
            await asyncio.sleep(0.1)
            seen = geometry(window)
            assert seen["hscroll"] == [], seen
            assert seen["attempts_fit"], seen
            assert window.jobs_dock.isVisible()
            header = view.attempts.horizontalHeader()
            used = header.length()
            assert used <= view.attempts.viewport().width(), used

        drive(loop, scenario(), viewer)


def test_the_detail_tab_gets_the_rows_the_timeline_does_not_need(
    loop: AppLoop, viewer: Viewer
) -> None:
    """Squeezed (a short window, a docked Lab) and then given room again, the
    splitter shared the growth 3:2: 19 rows over a Detail tab that scrolled its
    form (with its text's own scroll bar inside).  The timeline keeps 15 rows
    and the Detail tab gets the rest it needs; once the user drags the handle,
    their sizes stay."""
    window = viewer.window

    async def scenario() -> None:
        view = window.new_stream()
        window.jobs_dock.show()
        await asyncio.sleep(0.05)
        window.resize(1366, 640)
        await asyncio.sleep(0.1)
        window.resize(1366, 768)
        await asyncio.sleep(0.1)
        seen = geometry(window)
        assert seen["rows"] >= MIN_ROWS, seen  # type: ignore[operator]
        assert not seen["detail_scrolls"], seen
        split = view.timeline_split
        split.moveSplitter(split.sizes()[0] + 60, 1)  # the user's drag
        dragged = split.sizes()
        window.resize(1366, 760)
        await asyncio.sleep(0.1)
        assert split.sizes()[0] >= dragged[0] - 8, (dragged, split.sizes())

    drive(loop, scenario(), viewer)


def test_a_server_without_jobs_takes_no_room(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    window = viewer.window

    async def scenario() -> None:
        window.resize(1366, 768)
        window.jobs_dock.show()  # remembered from a run on a server with jobs
        # 127.0.0.1:9 (discard) answers nothing: no jobs API there.
        viewer.jobs.set_server("http://127.0.0.1:9")
        await until(lambda: not window.jobs_dock.isVisible(), 10, "the dock to go")
        window.new_stream()
        await _assert_fits(window, "no jobs API")

    drive(loop, scenario(), viewer)


_SCALED = """
import asyncio, json, sys
from PySide6.QtWidgets import QApplication
from desktop.ui.loop import AppLoop
from desktop.ui.viewer import Viewer
from layout_probe import measure
app = QApplication(sys.argv[:1])
loop = AppLoop(app)
asyncio.set_event_loop(loop)
viewer = Viewer(None)
size = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps(loop.run_until_complete(measure(viewer, *size))))
"""


def test_at_125_percent_scaling() -> None:
    """1920x1080 at 125 %: 1536x864 device-independent pixels, fonts scaled."""
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QT_SCALE_FACTOR="1.25")
    env["PYTHONPATH"] = os.pathsep.join((str(root), str(root / "tests")))
    done = subprocess.run(
        [sys.executable, "-c", _SCALED, "1536", "864"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["scale"] == 1.25
    assert seen["rows"] >= MIN_ROWS, seen
    assert seen["data"] >= DATA_SHARE, seen
    assert seen["hscroll"] == [], seen
    assert not seen["state_clipped"], seen


_DEFAULT = """
import asyncio, json, sys
from PySide6.QtWidgets import QApplication
from desktop.ui import theme
from desktop.ui.loop import AppLoop
from desktop.ui.viewer import Viewer
from layout_probe import connect_bar
app = QApplication(sys.argv[:1])
theme.apply(app)
loop = AppLoop(app)
asyncio.set_event_loop(loop)
print(json.dumps(loop.run_until_complete(connect_bar(Viewer(None)))))
"""


@pytest.mark.parametrize(("width", "height"), SIZES[:2])
def test_the_default_window_leaves_the_url_its_room(
    tmp_path: Path, width: int, height: int
) -> None:
    """On a 1366x768 or 1440x900 screen, a first run's window (no saved
    geometry) fits the screen and its URL field takes 45 % of the connection
    bar: a fixed 1280x800 window with "Headers · Body · Limits · TLS" beside
    the URL left it 26 %, and a typical local URL did not show whole."""
    screen = {"name": "test", "x": 0, "y": 0, "width": width, "height": height}
    screen |= {"logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [screen]}))
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    env["PYTHONPATH"] = os.pathsep.join((str(root), str(root / "tests")))
    done = subprocess.run(
        [sys.executable, "-c", _DEFAULT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["screen"] == [width, height], seen
    assert seen["on_screen"], seen
    assert seen["share"] >= URL_SHARE, seen
    assert seen["typical"], seen
    assert seen["placeholder"], seen
    # The first-run window, not one resized to the whole screen, keeps the
    # timeline's rows and Data's share beside the jobs dock.
    assert seen["rows"] >= MIN_ROWS, seen
    assert seen["data"] >= DATA_SHARE, seen
