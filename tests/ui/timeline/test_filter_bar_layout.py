"""Menu buttons draw their arrow beside their text, not over its last letter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from layout_probe import menu_button_parts

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from desktop.ui.loop import AppLoop
    from desktop.ui.viewer import Viewer


def test_the_types_and_profiles_arrows_sit_beside_their_text(
    loop: AppLoop, viewer: Viewer, qtbot: QtBot
) -> None:
    window = viewer.window
    window.resize(1366, 768)
    view = window.new_stream()
    window.tabs.setCurrentWidget(view)
    types = view.filters.types_button
    qtbot.waitUntil(lambda: types.isVisible() and types.width() < 200, timeout=3000)
    for button in (types, view.bar.profile_button):
        text, arrow = menu_button_parts(button)
        assert not text.isEmpty() and not arrow.isEmpty(), button.objectName()
        # "All types" had its arrow squeezed against the "s", down in the
        # bottom-right corner (the style's default place for a menu indicator).
        name = button.objectName()
        assert arrow.left() - text.right() >= 3, (name, text, arrow)
        assert abs(arrow.center().y() - button.height() // 2) <= 3, (name, arrow)
