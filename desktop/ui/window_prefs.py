"""What the main window remembers and the keys it adds: settings, profiles,
theme (live), layout, find next/previous, copy, and the shortcuts help.

Kept out of ``main_window.py`` so the window stays composition: it makes one
:class:`WindowPrefs` and calls it at four points (attach, new view, close).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu

from desktop.ui import about, theme, window_state
from desktop.ui.finder import Finder
from desktop.ui.shortcuts import ShortcutsDialog, keys_text
from desktop.ui.theme import THEMES
from desktop.ui.timeline import payload

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.ui.profiles.manager import ProfileManager
    from desktop.ui.settings import Settings
    from desktop.ui.stream_view import StreamView
    from desktop.ui.window_api import WindowApi

THEME_KEY = "view/theme"
_STATUS_MS = 4000


def theme_choice(settings: Settings) -> str:
    """The saved View → Theme choice ("system" unless the user picked one)."""
    return settings.choice(THEME_KEY, THEMES, "system")


class WindowPrefs(QObject):
    """A child of the window; ``profiles`` exists after :meth:`attach`.

    A QObject so that the connection to the application-wide colour scheme
    signal ends with the window instead of keeping it alive. ``window`` is the
    main window as a Qt window (menus, status bar, geometry), ``api`` the same
    window's streams (see :mod:`desktop.ui.window_api`).
    """

    profiles: ProfileManager

    def __init__(self, window: QMainWindow, api: WindowApi, settings: Settings) -> None:
        super().__init__(window)
        self.window = window
        self.api = api
        self.settings = settings
        self.finders: dict[StreamView, Finder] = {}
        self.theme_choice = theme_choice(settings)
        self.restored_docks = window_state.restore_window(window, settings)
        self.actions: dict[str, QAction] = {}
        self._menus()
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._scheme_changed)

    # -- menus ----------

    def _menus(self) -> None:
        window = self.window
        streams = _menu(window, "&Stream")
        view = _menu(window, "&View")
        find = next((a for a in streams.actions() if a.text() == "Find"), None)
        after = _next_action(streams, find)
        entries: tuple[tuple[str, str, QKeySequence, Callable[[], None]], ...] = (
            ("next", "Find next", QKeySequence("F3"), lambda: self.find(forward=True)),
            (
                "previous",
                "Find previous",
                QKeySequence("Shift+F3"),
                lambda: self.find(forward=False),
            ),
            (
                "copy",
                "Copy event data",
                QKeySequence(QKeySequence.StandardKey.Copy),
                self.copy,
            ),
        )
        for key, text, keys, slot in entries:
            action = QAction(text, window)
            action.setShortcut(keys)
            action.triggered.connect(slot)
            action.setEnabled(False)  # until attach()
            _insert(streams, after, action)
            self.actions[key] = action
        _insert(streams, after, None)
        for key, text, signal in (
            ("save_profile", "Save as profile…", "saveProfileRequested"),
            ("manage_profiles", "Manage profiles…", "manageProfilesRequested"),
        ):
            action = QAction(text, window)
            action.triggered.connect(lambda _=False, s=signal: self._bar_intent(s))
            action.setEnabled(False)
            _insert(streams, after, action)
            self.actions[key] = action
        _insert(streams, after, None)

        themes = view.addMenu("&Theme")
        group = QActionGroup(window)
        for choice in THEMES:
            action = themes.addAction(choice.title())
            action.setCheckable(True)
            action.setChecked(choice == self.theme_choice)
            action.setData(choice)
            action.triggered.connect(lambda _=False, c=choice: self.set_theme(c))
            group.addAction(action)
            self.actions[f"theme_{choice}"] = action
        help_menu = _menu(window, "&Help")
        shortcuts = help_menu.addAction("&Keyboard shortcuts")
        shortcuts.setShortcut(QKeySequence("Ctrl+/"))
        shortcuts.triggered.connect(self.show_shortcuts)
        self.actions["shortcuts"] = shortcuts
        readme = help_menu.addAction("&README")
        readme.triggered.connect(lambda: self.status(about.open_readme()))
        self.actions["readme"] = readme
        copy = help_menu.addAction("Copy &diagnostics")
        copy.setToolTip("Versions and open streams as text, for a bug report")
        copy.triggered.connect(self.copy_diagnostics)
        self.actions["diagnostics"] = copy
        help_menu.addSeparator()
        about_action = help_menu.addAction("&About sse-viewer")
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.triggered.connect(self.show_about)
        self.actions["about"] = about_action

    def attach(self) -> None:
        from desktop.ui.profiles.manager import ProfileManager  # starts the keychain

        self.profiles = ProfileManager(self.settings, parent=self.window)
        self.profiles.messageShown.connect(self.status)
        for action in self.actions.values():
            action.setEnabled(True)

    def status(self, message: str) -> None:
        if message:
            self.window.statusBar().showMessage(message, _STATUS_MS)
        else:
            self.window.statusBar().clearMessage()

    # -- views ----------

    def add_view(self, view: StreamView) -> None:
        window_state.restore_view(view, self.settings)
        finder = Finder(view)
        finder.messageShown.connect(self.status)
        self.finders[view] = finder
        view.destroyed.connect(lambda *_: self.finders.pop(view, None))
        self.profiles.attach(view.bar)
        self._tooltips(view)

    def _tooltips(self, view: StreamView) -> None:
        """Each button says its keys, from the menu action that has them."""
        by_text = {
            a.text(): a for a in self.window.findChildren(QAction) if a.shortcuts()
        }
        for widget, text, tip in (
            (view.bar.connect_button, "Connect", "Connect, or reconnect"),
            (view.bar.stop_button, "Stop", "Stop the stream"),
            (view.filters.pause, "Pause / resume", "Pause the timeline"),
            (view.filters.clear, "Clear", "Clear the timeline"),
            (view.bar.url, "Go to URL", "The stream's URL"),
            (view.filters.search, "Find", "Filter by text; Enter / F3 next match"),
        ):
            action = by_text.get(text)
            keys = keys_text(action) if action is not None else ""
            widget.setToolTip(f"{tip} ({keys})" if keys else tip)

    def find(self, *, forward: bool) -> None:
        view = self.api.current_view()
        if view is not None and view in self.finders:
            self.finders[view].step(forward=forward)

    def copy(self) -> None:
        """Ctrl+C outside a text field: the selected row's data to the clipboard."""
        view = self.api.current_view()
        row = view.detail.row if view is not None else None
        if row is None:
            self.status("Select a row to copy its data")
            return
        text = payload.payload(row)
        QGuiApplication.clipboard().setText(text)
        self.status(f"Copied {len(text.encode('utf-8')):,} bytes of data")

    def _bar_intent(self, signal: str) -> None:
        view = self.api.current_view()
        if view is not None:
            getattr(view.bar, signal).emit()

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.window.menuBar(), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_about(self) -> about.AboutDialog:
        dialog = about.AboutDialog(self.api.server_text(), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def copy_diagnostics(self) -> str:
        text = about.diagnostics(self.api, self.api.server_text())
        QGuiApplication.clipboard().setText(text)
        self.status("Copied diagnostics for a bug report (no headers, URLs masked)")
        return text

    # -- theme ----------

    def set_theme(self, choice: str) -> None:
        """Switch live: palette, style sheet, and what code paints."""
        if choice not in THEMES:
            return
        self.theme_choice = choice
        self.settings.set(THEME_KEY, choice)
        self.actions[f"theme_{choice}"].setChecked(True)
        self._apply_theme()

    def _scheme_changed(self, _scheme: object) -> None:
        if self.theme_choice == "system":
            self._apply_theme()

    def _apply_theme(self) -> None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        theme.apply(app, dark=theme.is_dark(self.theme_choice))
        for view, finder in self.finders.items():
            view.detail.highlighter.set_colours()
            view.table.viewport().update()
            finder.mark()

    # -- close ----------

    def save(self) -> None:
        window_state.save_window(self.window, self.settings)
        view = self.api.current_view()
        if view is not None:
            window_state.save_view(view, self.settings)
        self.settings.set(THEME_KEY, self.theme_choice)
        self.settings.sync()
        if hasattr(self, "profiles"):
            self.profiles.close()


def _menu(window: QMainWindow, title: str) -> QMenu:
    for action in window.menuBar().actions():
        if action.text() == title and action.menu() is not None:
            return action.menu()  # type: ignore[return-value]
    return window.menuBar().addMenu(title)


def _next_action(menu: QMenu, action: QAction | None) -> QAction | None:
    actions = menu.actions()
    if action is None or action not in actions:
        return None
    index = actions.index(action) + 1
    return actions[index] if index < len(actions) else None


def _insert(menu: QMenu, before: QAction | None, action: QAction | None) -> None:
    """Insert ``action`` (None: a separator) before ``before``, or at the end."""
    if action is None:
        if before is None:
            menu.addSeparator()
        else:
            menu.insertSeparator(before)
    elif before is None:
        menu.addAction(action)
    else:
        menu.insertAction(before, action)
