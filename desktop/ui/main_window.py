"""The main window: composition of the stream tabs, the jobs dock and the server bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.serving import ServerProtocol
from desktop.ui import theme
from desktop.ui.request import RequestForm, bearer, origin
from desktop.ui.settings import Settings
from desktop.ui.theme import named
from desktop.ui.window_prefs import WindowPrefs

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from desktop.core.serving import Served
    from desktop.ui.controller import StreamController, StreamHandle
    from desktop.ui.doctor.card import DoctorCard
    from desktop.ui.jobs.controller import JobsController
    from desktop.ui.jobs.panel import JobsPanel
    from desktop.ui.lab.dock import LabDock
    from desktop.ui.recordings.actions import Recordings
    from desktop.ui.stream_view import StreamView

REFRESH_MS = 250
JOBS_KEY = "view/jobs"  # whether the user wants the jobs dock where jobs exist
JOBS_MIN_PX, JOBS_MAX_PX = 300, 420


class ServerBar(QFrame):
    """Says what the bundled server is doing; offers a restart when it died."""

    restartRequested = Signal()  # noqa: N815

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serverBar")
        self.label = named(QLabel(), "serverLabel")
        self.label.setWordWrap(True)
        self.restart = named(QPushButton("Restart server"), "restartServer")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restart)
        self.restart.clicked.connect(self.restartRequested)
        self.hide()

    def show_state(self, text: str, *, problem: bool) -> None:
        self.label.setText(text)
        self.setProperty("problem", problem)
        self.style().unpolish(self)
        self.style().polish(self)
        self.restart.setVisible(problem)
        self.setVisible(problem)


class MainWindow(QMainWindow):
    closeRequested = Signal()  # noqa: N815
    restartServerRequested = Signal()  # noqa: N815
    serverProtocolChosen = Signal(str)  # noqa: N815  # a ServerProtocol value

    """Built and shown before the network stack is imported; :meth:`attach` then
    gives it the controllers (the window is up ~0.3 s sooner that way)."""

    controller: StreamController
    jobs: JobsController
    jobs_panel: JobsPanel
    lab: LabDock | None = None
    recordings: Recordings | None = None  # File menu actions, made on first use
    doctor_card: DoctorCard | None = None  # the latest Check this server… card
    lab_restart: Callable[[], Awaitable[None]] | None = None  # the viewer's, if any
    lab_base: Callable[[], str | None] | None = None  # the bundled server's URL
    lab_serve: Callable[[str], Awaitable[Served]] | None = None  # switch protocol

    def __init__(
        self, parent: QWidget | None = None, settings: Settings | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("SSE Viewer")
        self.setWindowIcon(theme.icon("app"))
        self.resize(1280, 800)
        self.server_bar = ServerBar()
        self.tabs = named(QTabWidget(), "streamTabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.plus = plus = named(QToolButton(), "newStreamButton")
        plus.setEnabled(False)  # until attach()
        plus.setText("+")
        plus.setToolTip("New stream (Ctrl+T)")
        self.tabs.setCornerWidget(plus, Qt.Corner.TopRightCorner)
        self.server_status = named(QLabel(), "serverStatus")
        self.statusBar().addPermanentWidget(self.server_status)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.server_bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.jobs_dock = named(QDockWidget("Jobs", self), "jobsDock")
        self.jobs_dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea
            | Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.jobs_dock)
        self.jobs_dock.hide()
        self._jobs_usable = False  # the stream in front's server has a jobs API
        self._jobs_lent = False  # hidden while the Lab has the whole window
        self._stream_actions: list[QAction] = []
        self._views: list[StreamView] = []
        self._actions()
        self.prefs = WindowPrefs(self, self, settings or Settings())
        # A restored layout may show the dock; it waits for a jobs API, as new.
        self.jobs_dock.hide()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def attach(self, controller: StreamController, jobs: JobsController) -> None:
        """Give the window its controllers: streams and jobs work from now on."""
        from desktop.ui.jobs.panel import JobsPanel  # imports the HTTP client

        self.controller, self.jobs = controller, jobs
        self.jobs_panel = JobsPanel(jobs.model)
        self.jobs_dock.setWidget(self.jobs_panel)
        self._wire_jobs()
        self.plus.clicked.connect(self.new_stream)
        self.tabs.tabCloseRequested.connect(self._close_tab)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.server_bar.restartRequested.connect(self.restartServerRequested)
        self.plus.setEnabled(True)
        self.prefs.attach()
        for action in self._stream_actions:
            action.setEnabled(True)
        self._timer.start()

    def _actions(self) -> None:
        menu = self.menuBar()
        streams = menu.addMenu("&Stream")
        view = menu.addMenu("&View")
        server = menu.addMenu("Se&rver")
        entries = (
            (streams, "&New stream", QKeySequence.StandardKey.AddTab, self.new_stream),
            (
                streams,
                "&Close stream",
                QKeySequence.StandardKey.Close,
                self.close_current,
            ),
            (
                streams,
                "Connect",
                "Ctrl+Return",
                self._on_view(lambda v: v.connect_stream()),
            ),
            (streams, "Stop", "Ctrl+.", self._on_view(lambda v: v.stop_stream())),
            (
                streams,
                "Pause / resume",
                "Ctrl+P",
                self._on_view(lambda v: v.toggle_pause()),
            ),
            (streams, "Clear", "Ctrl+K", self._on_view(lambda v: v.clear_timeline())),
            (
                streams,
                "Find",
                QKeySequence.StandardKey.Find,
                self._on_view(lambda v: v.focus_search()),
            ),
            (streams, "Go to URL", "Ctrl+L", self._on_view(lambda v: v.focus_url())),
            (streams, "Check this server…", None, self.check_server),
            (server, "&Restart bundled server", None, self.restartServerRequested.emit),
        )
        for target, text, keys, slot in entries:
            action = QAction(text, self)
            if keys is not None:
                action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            target.addAction(action)
            if target is streams:
                action.setEnabled(False)  # until attach()
                self._stream_actions.append(action)
        self._protocol_menu(server)
        self._file_menu()
        toggle = self.jobs_dock.toggleViewAction()
        toggle.setShortcut(QKeySequence("Ctrl+J"))
        # triggered: only the user's choice is remembered, not the dock hiding
        # itself on a server without jobs.
        toggle.triggered.connect(self._jobs_chosen)
        view.addAction(toggle)
        self.lab_action = QAction("&Lab", self)
        self.lab_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.lab_action.setCheckable(True)
        # triggered, not toggled: the dock hiding behind a tabbed Jobs dock
        # unchecks the action, and that must not close the Lab.
        self.lab_action.triggered.connect(self.show_lab)
        view.addAction(self.lab_action)
        self._stream_actions.append(self.lab_action)  # enabled by attach()

    def _protocol_menu(self, server: QMenu) -> None:
        """Server → Bundled server: HTTP/1.1 | HTTPS | HTTPS + HTTP/2 (one checked)."""
        menu = server.addMenu("&Bundled server")
        menu.setObjectName("serverProtocolMenu")
        group = QActionGroup(self)
        self.protocol_actions: dict[str, QAction] = {}
        for protocol in ServerProtocol:
            action = QAction(protocol.label, self, checkable=True)
            action.setData(protocol.value)
            group.addAction(action)
            menu.addAction(action)
            action.triggered.connect(
                lambda _on, value=protocol.value: self.serverProtocolChosen.emit(value)
            )
            self.protocol_actions[protocol.value] = action
        self.show_protocol(ServerProtocol.HTTP1)

    def show_protocol(self, protocol: ServerProtocol) -> None:
        self.protocol_actions[protocol.value].setChecked(True)

    def show_lab(self, on: bool = True) -> None:
        """View → Lab: built on first use (it imports the lanes view)."""
        if self.lab is None:
            from desktop.ui.lab.dock import LabDock

            self.lab = LabDock(
                self, self, self.lab_restart, self.lab_base, self.lab_serve
            )
            self.lab.dock.visibilityChanged.connect(self.lab_action.setChecked)
        self.lab.show(on)

    def check_server(self) -> None:
        """Stream → Check this server…: doctor's card for the tab in front."""
        from desktop.ui.doctor.card import open_card  # not needed at start-up

        self.doctor_card = open_card(self, self) or self.doctor_card

    def _file_menu(self) -> None:
        """File: recordings, export, copy as curl (desktop/ui/recordings/actions.py)."""
        bar = self.menuBar()
        menu = QMenu("&File", self)
        bar.insertMenu(bar.actions()[0], menu)
        for text, keys, what in (
            ("&Open recording…", QKeySequence.StandardKey.Open, "open"),
            ("&Save recording…", QKeySequence.StandardKey.Save, "save"),
            ("&Export visible events…", None, "export"),
            ("Copy request as c&url", "Ctrl+Shift+C", "copy_curl"),
        ):
            action = menu.addAction(text)
            if keys is not None:
                action.setShortcut(QKeySequence(keys))
            action.triggered.connect(lambda _=False, w=what: self.file_action(w))
            action.setEnabled(False)  # until attach()
            self._stream_actions.append(action)
        menu.addSeparator()
        quit_action = menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Quit))
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        quit_action.triggered.connect(self.close)

    def file_action(self, what: str, *args: str) -> object:
        """Run a :class:`Recordings` method (``open_file`` with a path, …)."""
        if self.recordings is None:
            from desktop.ui.recordings.actions import (
                Recordings,  # not needed at start-up
            )

            self.recordings = Recordings(self, self)
        return getattr(self.recordings, what)(*args)

    def _on_view(self, intent: Callable[[StreamView], None]) -> Callable[[], None]:
        """A menu action's slot: ``intent`` on the stream tab in front, if any."""

        def act() -> None:
            view = self.current_view()
            if view is not None:
                intent(view)

        return act

    def _wire_jobs(self) -> None:
        jobs, panel = self.jobs, self.jobs_panel
        panel.startRequested.connect(jobs.start_job)
        panel.cancelRequested.connect(jobs.cancel_job)
        panel.stopFollowingRequested.connect(jobs.stop_following)
        panel.followRequested.connect(self._follow_job)
        panel.openRequested.connect(self._open_job)
        jobs.availabilityChanged.connect(self._jobs_available)
        jobs.kindsChanged.connect(panel.set_kinds)
        jobs.messageShown.connect(panel.show_message)

    def _jobs_available(self, available: bool, message: str) -> None:
        """The dock takes room only where a jobs API exists and the user wants
        it (View → Jobs, remembered); elsewhere Ctrl+J still opens it."""
        self.jobs_panel.set_available(available, message)
        self._jobs_usable = available
        if available and self.jobs_wanted() and not self._jobs_lent:
            if not self.jobs_dock.isVisible():
                self.jobs_dock.show()
                self.size_jobs_dock()
        elif not available:
            self.jobs_dock.hide()

    def jobs_wanted(self) -> bool:
        return self.prefs.settings.flag(JOBS_KEY, True)

    def _jobs_chosen(self, shown: bool) -> None:
        self.prefs.settings.set(JOBS_KEY, shown)
        if shown:
            self.size_jobs_dock()

    def size_jobs_dock(self) -> None:
        """Narrow enough that the timeline beside it keeps its Data column."""
        width = min(JOBS_MAX_PX, max(JOBS_MIN_PX, self.width() * 22 // 100))
        self.resizeDocks([self.jobs_dock], [width], Qt.Orientation.Horizontal)

    def lend_jobs_dock(self, lent: bool) -> None:
        """The Lab takes the whole window ("Lab only"): the jobs dock steps
        aside with the stream tabs, instead of taking the room they leave."""
        if lent and not self._jobs_lent:
            self._jobs_lent = True
            self.jobs_dock.hide()
        elif not lent and self._jobs_lent:
            self._jobs_lent = False
            if self._jobs_usable and self.jobs_wanted():
                self.jobs_dock.show()
                self.size_jobs_dock()

    def _follow_job(self, job_id: str) -> None:
        row = self.jobs.model.find(job_id)
        if row is not None:
            self.jobs.follow(row)

    def _open_job(self, job_id: str) -> None:
        row = self.jobs.model.find(job_id)
        if row is not None:
            form = RequestForm(row.events_url, headers=self.jobs.headers)
            view = self.add_stream(self.controller.new_stream(form))
            view.connect_stream()

    def _tab_changed(self, _index: int) -> None:
        view = self.current_view()
        if view is not None:
            self.point_jobs_at(view)
        self.refresh()

    def point_jobs_at(self, view: StreamView) -> None:
        """The jobs panel works on the server of the stream in front, with its token."""
        form = view.handle.form
        if form.url and view.handle.task is not None and not view.handle.recording:
            self.jobs.set_server(origin(form.url), bearer(form.headers))

    # -- tabs ----------

    def add_stream(self, handle: StreamHandle) -> StreamView:
        from desktop.ui.stream_view import StreamView  # not needed for the first paint

        view = StreamView(handle, self.controller)
        self._views.append(view)
        index = self.tabs.addTab(view, _tab_text(view.title()))
        view.titleChanged.connect(lambda: self._retitle(view))
        view.bar.connectRequested.connect(lambda _form: self.point_jobs_at(view))
        self.prefs.add_view(view)
        view.raw.use_settings(self.prefs.settings, apply=view.handle.recording is None)
        self.tabs.setCurrentIndex(index)
        return view

    def new_stream(self) -> StreamView:
        view = self.add_stream(self.controller.new_stream())
        view.bar.url.setFocus()
        return view

    def views(self) -> list[StreamView]:
        """The stream views in tab order."""
        return sorted(self._views, key=self.tabs.indexOf)

    def current_view(self) -> StreamView | None:
        widget = self.tabs.currentWidget()
        return next((view for view in self._views if view is widget), None)

    def close_current(self) -> None:
        self._close_tab(self.tabs.currentIndex())

    def _close_tab(self, index: int) -> None:
        widget = self.tabs.widget(index)
        view = next((view for view in self._views if view is widget), None)
        if view is not None:
            self._views.remove(view)
            self.controller.close_stream(view.handle)
            self.tabs.removeTab(index)
            view.deleteLater()

    def _retitle(self, view: StreamView) -> None:
        index = self.tabs.indexOf(view)
        if index >= 0:
            self.tabs.setTabText(index, _tab_text(view.title()))
            self.tabs.setTabToolTip(index, view.handle.form.url)

    def refresh(self) -> None:
        for index, view in enumerate(self.views()):
            session = view.handle.session
            key = theme.state_key(session.state, failed=session.failed)
            if self.tabs.tabBar().tabData(index) != key:  # a new icon repaints the bar
                self.tabs.tabBar().setTabData(index, key)
                self.tabs.setTabIcon(
                    index, theme.state_icon(session.state, failed=session.failed)
                )
        current = self.current_view()
        if current is not None:
            current.refresh()

    # -- server ----------

    def server_text(self) -> str:
        jobs = getattr(self, "jobs", None)  # set by attach()
        probed = jobs.server_info if jobs is not None else ""
        bundled = self.server_status.text()
        return " · ".join(part for part in (probed, bundled) if part)

    def show_server(self, text: str, *, problem: bool = False) -> None:
        self.server_status.setText(text)
        self.server_bar.show_state(text, problem=problem)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        # The app keeps running (setQuitOnLastWindowClosed(False)) until every
        # stream task and the server child are gone; then it quits.
        self._timer.stop()
        self.prefs.save()
        self.closeRequested.emit()
        event.accept()


def _tab_text(title: str) -> str:
    return title.replace("&", "&&")  # a lone & would underline the next letter
