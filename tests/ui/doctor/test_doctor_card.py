"""Stream → Check this server…: the card fills in as checks complete, on the real
bundled server, and exports the same HTML page as ``doctor --html``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize

from desktop.core.doctor.checks import CATALOG, Status
from desktop.core.doctor.probe import Plan
from desktop.ui.doctor.card import DoctorCard, card_size, open_card

from app_driver import drive, open_stream, until

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from pytestqt.qtbot import QtBot

    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer


def _menu(viewer: Viewer) -> Callable[[str], None]:
    def trigger(text: str) -> None:
        bar = viewer.window.menuBar().actions()
        menus = [m.menu() for m in bar if m.menu() is not None]
        actions = [a for m in menus for a in m.actions() if a.text() == text]  # type: ignore[union-attr]
        assert len(actions) == 1, (text, actions)
        actions[0].trigger()

    return trigger


def test_the_card_fills_in_as_checks_complete_and_exports_html(
    loop: AppLoop, viewer: Viewer, base: str, qtbot: QtBot, tmp_path: Path
) -> None:
    seen: list[int] = []
    menu = _menu(viewer)

    async def run() -> DoctorCard:
        open_stream(viewer, f"{base}/api/ticker?rate=50")
        menu("Check this server…")
        card = viewer.window.doctor_card
        assert card is not None and "watching for 20 s" in card.heading.text()
        qtbot.addWidget(card)
        # A shorter watch for the test: Run again replaces the running one.
        card.plan = Plan(duration_s=3.0)
        card.run()
        assert card.isVisible() and card.model.rowCount() == len(CATALOG)
        assert card.model.checks == {}  # pending rows first
        # The response's checks come before the watch is over.
        await until(lambda: "response.status" in card.model.checks, 5, "the head")
        seen.append(len(card.model.checks))
        assert not card.complete
        assert card.progress.text().startswith("Checking…")
        await until(lambda: card.complete, 15, "every check")
        return card

    card = drive(loop, run(), viewer)
    assert 0 < seen[0] < len(CATALOG)
    checks = card.checks()
    assert [c.id for c in checks] == list(CATALOG)
    assert all(c.status is not Status.FAIL for c in checks), checks
    assert card.progress.text().startswith("Done: ")
    model = card.model
    row = model.ids.index("reconnect.resume")
    assert model.index(row, 0).data() == "pass", model.index(row, 2).data()
    assert "continued with" in model.index(row, 2).data()
    assert model.index(model.ids.index("response.cache-control"), 0).data() == "pass"
    warn = model.ids.index("browser.http-version")  # the bundled server: HTTP/1.1
    assert model.index(warn, 3).data().startswith("Serve over HTTPS with HTTP/2")
    card.table.selectRow(warn)
    assert (
        "Why: " in card.detail.text() and "(browser.http-version)" in card.detail.text()
    )
    page = tmp_path / "card.html"
    card.export_html(str(page))
    html = page.read_text()
    assert "browser.http-version" in html and "<table>" in html
    card.close()


def test_without_a_stream_tab_there_is_no_card(loop: AppLoop, viewer: Viewer) -> None:
    for index in reversed(range(viewer.window.tabs.count())):
        viewer.window.tabs.removeTab(index)
    assert open_card(viewer.window, viewer.window) is None


def test_the_card_fits_the_screen_and_its_columns_fit_the_card(
    loop: AppLoop, viewer: Viewer, base: str, qtbot: QtBot
) -> None:
    # A 1366x768 laptop less a 32 px panel: the card and a 30 px title bar fit.
    laptop = card_size(QSize(1366, 736))
    assert laptop.width() <= 1366 and laptop.height() + 30 <= 736, laptop
    free = viewer.window.screen().availableGeometry()

    async def run() -> DoctorCard:
        open_stream(viewer, f"{base}/api/ticker?rate=50")
        _menu(viewer)("Check this server…")
        card = viewer.window.doctor_card
        assert card is not None
        qtbot.addWidget(card)
        card.plan = Plan(duration_s=1.0)
        card.run()
        await until(lambda: card.complete, 15, "every check")
        return card

    card = drive(loop, run(), viewer)
    assert card.size() == card_size(free.size())
    assert card.table.horizontalScrollBar().maximum() == 0  # nothing sideways
    card.close()
