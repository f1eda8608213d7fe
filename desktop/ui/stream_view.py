"""One stream's tab: connection bar, filters, timeline, detail, state, attempts."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import row_text
from desktop.ui.connect.bar import ConnectionBar
from desktop.ui.rate.tab import RateTab
from desktop.ui.raw.view import RawView
from desktop.ui.state.attempts import AttemptsView
from desktop.ui.state.notices import NoticesBar
from desktop.ui.state.panel import StatePanel
from desktop.ui.theme import named
from desktop.ui.timeline.detail import DetailPane
from desktop.ui.timeline.filter_bar import FilterBar
from desktop.ui.timeline.model import (
    COLUMNS,
    DATA,
    ID,
    RECORD_ROLE,
    TYPE,
    FilterSpec,
    TimelineFilter,
)
from desktop.ui.timeline.split import TimelineSplit, compact, gives_way, scrolled
from desktop.ui.timeline.table import AppendingTableView

if TYPE_CHECKING:
    from PySide6.QtGui import QHideEvent, QResizeEvent, QShowEvent

    from desktop.core.engine.certificate import TLSFailure
    from desktop.core.store import Row
    from desktop.ui.controller import StreamController, StreamHandle

# On the stream's tab while "Don't verify" is on: certificates are not checked.
UNVERIFIED_BADGE = "\N{WARNING SIGN} TLS unverified ·"
DATA_SHARE = 0.45  # of the timeline's width, at least, for the Data column
_NARROW_PX = 56  # ID and Type shrink to this before Data goes under its share
_WIDTHS = {"Received": 96, "Δ": 74, "Conn": 50, "ID": 110, "Type": 110, "Size": 70}


class TimelineView(AppendingTableView):
    """A plain table tuned for many uniform rows (no per-row sizing); appended
    rows repaint only their strip (``timeline/table.py``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineView")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.verticalHeader()
        vertical.hide()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(22)
        self._wanted: dict[int, int] = {}
        self._fitting = False
        header = self.horizontalHeader()
        header.sectionResized.connect(self._section_resized)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )

    def size_columns(self) -> None:
        self._fitting = True  # defaults, not a width anyone chose
        try:
            for i, name in enumerate(COLUMNS):
                if name in _WIDTHS:
                    self.setColumnWidth(i, _WIDTHS[name])
        finally:
            self._fitting = False

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        if not self._fitting and column != len(COLUMNS) - 1:
            self._wanted[column] = new  # the user's (or the saved) width

    def fit_columns(self) -> None:
        """Keep Data, the payload, at least :data:`DATA_SHARE` of the width.

        Beside the state panel and a jobs dock the fixed columns took all but a
        sliver; when the room is short, ID and Type (free-form, elided) give up
        width first, down to :data:`_NARROW_PX`; wider again, they get it back.
        A width the user (or the saved layout) chose is kept as chosen.
        """
        room = self.viewport().width()
        if room <= 0:
            return
        defaults = {c: _WIDTHS.get(name, 0) for c, name in enumerate(COLUMNS)}
        wanted = {c: self._wanted.get(c, defaults[c]) for c in range(DATA)}
        others = sum(w for c, w in wanted.items() if c not in (ID, TYPE))
        spare = int(room * (1 - DATA_SHARE)) - others  # for ID and Type
        self._fitting = True
        try:
            for column in (ID, TYPE):
                if column in self._wanted:
                    continue  # chosen by the user: theirs to narrow
                width = max(_NARROW_PX, min(wanted[column], spare // 2))
                if self.columnWidth(column) != width:
                    self.setColumnWidth(column, width)
        finally:
            self._fitting = False

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit_columns()

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 1


class StreamView(QWidget):
    """Renders one :class:`StreamHandle`; intents go to the controller."""

    titleChanged = Signal()  # noqa: N815

    def __init__(
        self,
        handle: StreamHandle,
        controller: StreamController,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("streamView")
        self.handle = handle
        self.controller = controller
        self.proxy = TimelineFilter(handle.timeline, self)
        self.bar = ConnectionBar()
        self.bar.set_form(handle.form)
        self.banner = named(QLabel(), "streamBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.notices = NoticesBar()  # the stream's warnings (core/insight/advice.py)
        self.filters = FilterBar(handle.session.store.retention)
        self.table = TimelineView()
        self.table.setModel(self.proxy)
        self.table.size_columns()
        self.detail = DetailPane()
        self.state = StatePanel()
        self.attempts = AttemptsView()
        self.attempts.setModel(handle.attempts)
        self.attempts.size_columns()
        # Detail and attempts share the wide bottom pane; the state panel stays in view.
        self.bottom = named(QTabWidget(), "lowerTabs")
        self.bottom.setDocumentMode(True)
        self.bottom.addTab(scrolled(self.detail), "Detail")
        self.bottom.addTab(self.attempts, "Attempts")
        self.rate = RateTab(  # imports pyqtgraph on first show
            handle.session, saved=handle.recording is not None
        )
        self.bottom.addTab(self.rate, "Rate")
        self.raw = RawView(handle.session, self._timeline_rows)  # bytes as received
        compact(self.raw.text)
        gives_way(self.raw, self.raw.info)
        self.bottom.addTab(self.raw, "Raw")
        self.raw.rowRequested.connect(self._select_seq)
        self.bottom.currentChanged.connect(lambda _i: self._refresh_raw())

        compact(self.attempts)
        self.timeline_split = left = TimelineSplit(self.table, self.bottom)
        # Weights, not pixels: the timeline gets 62 % (15+ rows of 22 px in a
        # 768 px-high window), the lower tabs the rest, above their minimum.
        left.setSizes([620, 380])
        # The panel's numbers change 4 times a second; inside a scroll area their
        # layout requests stop there instead of repainting the whole tab.
        right = named(QScrollArea(), "stateScroll")
        right.setWidget(self.state)
        right.setWidgetResizable(True)
        right.setFrameShape(QFrame.Shape.NoFrame)
        # With the jobs dock open the splitter squeezed the panel until values
        # such as "1,500 ms · server retry: field" were cut; keep them whole.
        # (The panel's hint is taken while its values are still empty.)
        right.setMinimumWidth(max(self.state.sizeHint().width() + 24, 340))
        self.split = named(QSplitter(Qt.Orientation.Horizontal), "streamSplit")
        self.split.addWidget(left)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)
        self.split.setSizes([960, 320])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.notices)
        layout.addWidget(self.filters)
        layout.addWidget(self.split, 1)

        self._follow = True
        self._picked_under: FilterSpec | None = None  # the filter of the last pick
        self._title = ""
        self.bar.connectRequested.connect(self._connect)
        self.bar.stopRequested.connect(lambda: controller.stop(handle))
        self.bar.idle.valueChanged.connect(self._idle_after)
        self.state.trustRequested.connect(self._trust)
        self.state.caFileRequested.connect(self._use_ca_file)
        self._idle_after(self.bar.idle.value())
        self.filters.filterChanged.connect(self.apply_filter)
        self.filters.pauseToggled.connect(self._pause)
        self.filters.clearRequested.connect(self._clear)
        self.filters.retentionChanged.connect(
            lambda n: controller.set_retention(handle, n)
        )
        # Following the tail is the user's choice, made by scrolling: a taller
        # notices bar or filter row shrinks the table (the range grows, the value
        # stays) and must not end it, as re-checking at_bottom() per insert did.
        scroll = self.table.verticalScrollBar()
        scroll.valueChanged.connect(self._scrolled)
        scroll.rangeChanged.connect(self._range_changed)
        self.proxy.rowsInserted.connect(self._after_insert)
        self.proxy.rowsRemoved.connect(self._after_remove)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        controller.set_shown(handle, False)  # until its tab is on screen
        self.refresh()

    # Only a timeline on screen follows the stream frame by frame; the others
    # catch up slowly, and all at once when shown (StreamController.set_shown).
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        self.controller.set_shown(self.handle, True)
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        self.controller.set_shown(self.handle, False)
        super().hideEvent(event)

    # -- intents: what the window's menus and the app ask of this tab ----------

    def connect_stream(self) -> None:
        """Connect (or reconnect) with the form as it is, as its Connect button does."""
        self.bar.request_connect()

    def stop_stream(self) -> None:
        """Stop the stream; nothing when it is not running."""
        self.controller.stop(self.handle)

    def toggle_pause(self) -> None:
        """Pause the timeline, or resume it (the Pause button shows which)."""
        self.filters.pause.toggle()

    def clear_timeline(self) -> None:
        """Drop the rows, the raw bytes and the notices received so far."""
        self._clear()

    def focus_search(self) -> None:
        self.filters.search.setFocus()
        self.filters.search.selectAll()

    def keeps_px(self) -> int:
        """The tab's height with its bars, the timeline's minimum rows and the
        lower tabs squeezed (a docked Lab leaves the tab this much)."""
        split = self.timeline_split
        return self.height() - split.height() + split.compact_px()

    def focus_url(self) -> None:
        self.bar.url.setFocus()
        self.bar.url.selectAll()

    def _trust(self, failure: TLSFailure) -> None:
        """Trust the refused certificate for its host (the TLS tab lists it,
        and revokes it), and connect again."""
        self.bar.tls.set_form(self.bar.tls.form().trusting(failure))
        self.bar.request_connect()

    def _use_ca_file(self) -> None:
        self.bar.show_tls()
        if self.bar.tls.use_ca_file():
            self.bar.request_connect()

    def _connect(self) -> None:
        error = self.controller.connect_stream(self.handle, self.bar.form())
        self.bar.show_error(error)
        if not error:
            self._follow = True
            self.notices.clear()  # dismissals last until a new connect
            self.refresh()

    def _pause(self, paused: bool) -> None:
        self.controller.set_paused(self.handle, paused)
        self.refresh()

    def _idle_after(self, seconds: float) -> None:
        self.handle.session.advisor.idle_after_s = seconds

    def _clear(self) -> None:
        self.controller.clear(self.handle)
        self.handle.session.raw.clear()
        self.handle.session.advisor.reset()
        self.notices.clear()
        self.filters.types.clear()
        self.detail.show_row(None)
        self.refresh()

    def apply_filter(self) -> None:
        spec = FilterSpec(
            hidden_types=self.filters.types.hidden(),
            text=self.filters.search.text(),
            regex=self.filters.regex.isChecked(),
            connection=self._connection()
            if self.filters.this_connection.isChecked()
            else None,
            comments=self.filters.comments.isChecked(),
            states=self.filters.states.isChecked(),
        )
        selected = self.detail.row
        old = self.proxy.spec
        # A row picked among a search's results is what the user wants to see
        # next; otherwise a user at the tail stays there (the reset scrolls to 0).
        picked = self._picked_under == old and bool(
            old.text or old.hidden_types or old.connection is not None
        )
        follow = self._follow and not picked
        try:
            self.proxy.set_spec(spec)
        except re.error as exc:
            self.filters.show_search_error(f"Not a valid regular expression: {exc}")
            return
        self.filters.show_search_error("")
        if follow:
            self._follow = True
            self.table.scrollToBottom()
        elif selected is not None:
            self._reselect(selected)
        self.refresh()

    def _connection(self) -> int | None:
        row = self.detail.row
        number = row_text.connection(row) if row is not None else None
        return number if number is not None else (self.handle.session.attempt or None)

    def _reselect(self, row: Row) -> None:
        store = self.handle.session.store
        for seq in range(store.base + store.published - 1, store.base - 1, -1):
            if store.at_seq(seq) is row:
                proxy_row = self.proxy.row_of_seq(seq)
                if proxy_row is not None:
                    self.table.selectRow(proxy_row)
                    self.table.scrollTo(self.proxy.index(proxy_row, 0))
                    self._follow = False
                return

    # -- following the tail ----------

    def _scrolled(self, _value: int) -> None:
        self._follow = self.table.at_bottom()

    def _range_changed(self, _low: int, _high: int) -> None:
        if self._follow:
            self.table.scrollToBottom()

    def _after_insert(self) -> None:
        if self._follow:
            self.table.scrollToBottom()

    def _after_remove(self, _parent: QModelIndex, first: int, last: int) -> None:
        if not self._follow and first == 0:  # keep the rows the user looks at in place
            bar = self.table.verticalScrollBar()
            bar.setValue(max(0, bar.value() - (last + 1) * self.table.rowHeight(0)))

    def _selection_changed(
        self, selected: QItemSelection, _old: QItemSelection
    ) -> None:
        indexes = selected.indexes()
        row = indexes[0].data(RECORD_ROLE) if indexes else None
        if row is not None:
            self._picked_under = self.proxy.spec
            self.detail.show_row(row)
            seq = self.proxy.seq(indexes[0].row())
            self.raw.show_row(seq)

    # -- the raw tab ----------

    def _timeline_rows(self) -> tuple[list[Row], int]:
        store = self.handle.session.store
        return store.rows(), store.base

    def _refresh_raw(self) -> None:
        if self.bottom.currentWidget() is self.raw:
            self.raw.refresh()

    def _select_seq(self, seq: int) -> None:
        """Bytes clicked in the raw tab: select the row they became, if shown."""
        proxy_row = self.proxy.row_of_seq(seq)
        if proxy_row is None:
            self.raw.info.setText(self.raw.info.text() + " The filter hides its row.")
            return
        self.table.selectRow(proxy_row)
        self.table.scrollTo(self.proxy.index(proxy_row, 0))
        self._follow = False

    # -- rendering ----------

    def refresh(self) -> None:
        """Repaint the numbers (a 4 Hz timer calls this for the visible tab)."""
        session = self.handle.session
        now = self.handle.now()  # a recording's clock stopped when it was saved
        saved = self.handle.recording is not None
        self.state.show_session(session, now, session.rate(now), saved=saved)
        self.handle.attempts.refresh()
        self.rate.refresh()
        self._refresh_raw()
        attempts = len(session.attempts)
        tab = f"Attempts ({attempts})" if attempts else "Attempts"
        if self.bottom.tabText(1) != tab:  # setTabText relayouts even when equal
            self.bottom.setTabText(1, tab)
        self.bar.set_running(self.handle.running)
        self.filters.add_types(session.types)
        store = session.store
        self.filters.show_counts(self.proxy.rowCount(), store.published, store.dropped)
        self.filters.show_waiting(session.waiting)
        banner = session.message if session.failed else ""
        if self.banner.text() != banner:
            self.banner.setText(banner)
            self.banner.setVisible(bool(banner))
        if not saved:  # a recording's clock stands still: no silence grows
            session.advisor.check_idle(now)
        self.notices.show_warnings(session.advisor.warnings())
        title = self.title()
        if title != self._title:
            self._title = title
            self.titleChanged.emit()

    def title(self) -> str:
        if self.handle.recording is not None:
            return "Recording: " + self._title_of(self.handle.recording.url)
        title = self._title_of(self.handle.form.url)
        if not self.handle.form.tls.verify:  # the badge, for as long as it is on
            return f"{UNVERIFIED_BADGE} {title}"
        return title

    @staticmethod
    def _title_of(url: str) -> str:
        if not url:
            return "New stream"
        rest = url.split("://", 1)[-1]
        host, _, path = rest.partition("/")
        title = f"/{path}" if path else host
        return title if len(title) <= 36 else title[:35] + "…"
