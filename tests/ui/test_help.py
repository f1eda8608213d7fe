"""Help: About, README, Copy diagnostics; Quit in File; dark checkboxes that show."""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, qVersion
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication, QCheckBox, QStyle, QStyleOptionButton

from desktop import __version__
from desktop.ui import theme

from app_driver import drive, open_stream, until

if TYPE_CHECKING:
    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer


def _menu_texts(viewer: Viewer, title: str) -> list[str]:
    for action in viewer.window.menuBar().actions():
        if action.text() == title and action.menu() is not None:
            return [a.text() for a in action.menu().actions()]  # type: ignore[union-attr]
    raise AssertionError(f"no menu {title}")


def test_quit_is_in_file_and_help_has_about_readme_and_diagnostics(
    loop: AppLoop, viewer: Viewer, base: str
) -> None:
    assert "&Quit" in _menu_texts(viewer, "&File")
    assert "&Quit" not in _menu_texts(viewer, "&Stream")
    help_items = _menu_texts(viewer, "&Help")
    for item in ("&About sse-viewer", "&README", "Copy &diagnostics"):
        assert item in help_items

    async def scenario() -> None:
        viewer.jobs.set_server(base)
        await until(lambda: viewer.jobs.available, 10, "the server's info")
        dialog = viewer.window.prefs.show_about()
        text = dialog.table.text()
        for part in (__version__, platform.python_version(), qVersion(), base):
            assert part in text
        dialog.close()
        open_stream(viewer, f"{base}/api/ticker?rate=5&token=s3cret")
        copied = viewer.window.prefs.copy_diagnostics()
        assert QGuiApplication.clipboard().text() == copied
        assert f"sse-viewer: {__version__}" in copied and "s3cret" not in copied
        assert "/api/ticker" in copied and "Streams: " in copied

    drive(loop, scenario(), viewer)


def _luminance(colour: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in (colour.redF(), colour.greenF(), colour.blueF()))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_an_unchecked_checkbox_stands_out_in_the_dark_theme(
    loop: AppLoop,
) -> None:
    """WCAG asks 3:1 for the parts of a control one must see (non-text contrast)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply(app, dark=True)
    try:
        box = QCheckBox("Regex")
        box.resize(box.sizeHint())
        image = box.grab().toImage()
        option = QStyleOptionButton()
        option.initFrom(box)
        rect = box.style().subElementRect(
            QStyle.SubElement.SE_CheckBoxIndicator, option, box
        )
        around = image.pixelColor(QPoint(image.width() - 1, 0))  # the window
        best = max(
            _contrast(image.pixelColor(QPoint(x, y)), around)
            for x in range(rect.left(), rect.right() + 1)
            for y in range(rect.top(), rect.bottom() + 1)
        )
        assert best >= 3.0, f"the box's outline is {best:.2f}:1 against its window"
    finally:
        theme.apply(app)
