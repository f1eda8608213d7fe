"""The jobs panel: a form per job kind, the jobs list with progress, a job's log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRect,
    Qt,
    QTimer,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QHelpEvent, QPalette, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.jobs.model import (
    COLUMNS as JOB_COLUMNS,
    JOB,
    LOG_LINES,
    PERCENT_ROLE,
    PROGRESS,
    STATUS,
    STREAM,
)
from desktop.ui.jobs.schema_form import SchemaForm
from desktop.ui.theme import named

if TYPE_CHECKING:
    from PySide6.QtGui import QFontMetrics, QPainter

    from desktop.core.jobs import JobKind
    from desktop.ui.jobs.model import JobRow, JobsModel


class ProgressDelegate(QStyledItemDelegate):
    """Paints the progress column as a bar with its percentage beside it (no
    widget per row).  The style's own bar text was drawn over the chunk in the
    text colour: in a 60 px column "42 %" sat on the bar's edge, half unreadable."""

    GAP = 4  # between the bar and its text
    MIN_BAR = 12  # narrower, the text alone: a sliver reads as a mark, not a share

    def parts(self, rect: QRect, metrics: QFontMetrics) -> tuple[QRect, QRect]:
        """The bar's and the text's rectangles inside a cell: side by side, the
        text as wide as "100 %" so every value lines up on the right."""
        inner = rect.adjusted(3, 4, -3, -4)
        text_width = metrics.horizontalAdvance("100 %")
        bar = QRect(inner.left(), inner.top(), inner.width(), inner.height())
        bar.setWidth(max(0, inner.width() - text_width - self.GAP))
        text = QRect(
            inner.right() - text_width + 1, rect.top(), text_width, rect.height()
        )
        return bar, text

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if index.column() != PROGRESS:
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""  # type: ignore[attr-defined,unused-ignore]
        widget = item.widget  # type: ignore[attr-defined,unused-ignore]
        style = widget.style() if widget is not None else QApplication.style()
        # The row's background (selection, alternate colour) under both parts.
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        rect: QRect = option.rect  # type: ignore[attr-defined,unused-ignore]
        bar_rect, text_rect = self.parts(rect, option.fontMetrics)  # type: ignore[attr-defined,unused-ignore]
        percent = float(index.data(PERCENT_ROLE) or 0)
        bar = QStyleOptionProgressBar()
        bar.rect = bar_rect  # type: ignore[attr-defined,unused-ignore]
        # The app's highlight: the table's is the pale selection colour.
        bar.palette = QApplication.palette()
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(percent * 10)
        bar.textVisible = False
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        if bar_rect.width() >= self.MIN_BAR:
            # Without the widget: the style sheet's style, given the table,
            # drew the groove and no chunk.
            QApplication.style().drawControl(
                QStyle.ControlElement.CE_ProgressBar, bar, painter
            )
        selected = bool(item.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined,unused-ignore]
        role = (
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        painter.save()
        painter.setPen(option.palette.color(role))  # type: ignore[attr-defined,unused-ignore]
        align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(text_rect, int(align), f"{percent:.0f} %")
        painter.restore()


class JobLog(QPlainTextEdit):
    """One line per log line: wrapped in the ~300 px dock, "Compiling src/" and
    "module_00137.c" took a line each.  Unwrapped, a line too long for the dock
    scrolls sideways and shows whole as the tooltip of the line under the mouse."""

    def __init__(self) -> None:
        super().__init__()
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

    def line_at(self, pos: QPoint) -> str:
        """The log line at a viewport position ("" below the last one)."""
        cursor = self.cursorForPosition(pos)
        block = cursor.block()
        rect = self.blockBoundingGeometry(block).translated(self.contentOffset())
        return block.text() if rect.contains(QPointF(pos)) else ""

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            line = self.line_at(event.pos())
            if line and self.fontMetrics().horizontalAdvance(line) > (
                self.viewport().width()
            ):
                QToolTip.showText(event.globalPos(), line, self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)


class JobsPanel(QWidget):
    startRequested = Signal(str, object)  # noqa: N815 (kind, params)
    cancelRequested = Signal(str)  # noqa: N815
    followRequested = Signal(str)  # noqa: N815
    stopFollowingRequested = Signal(str)  # noqa: N815
    openRequested = Signal(str)  # noqa: N815 (a job id: open its stream in a tab)

    def __init__(self, model: JobsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobsPanel")
        self.model = model
        self.pages = QStackedWidget()
        self.notice = named(QLabel("No server to run jobs on."), "jobsMessage")
        self.notice.setWordWrap(True)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.pages.addWidget(self.notice)
        self.pages.addWidget(self._build_main())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self._forms: dict[str, SchemaForm] = {}
        self._descriptions: dict[str, str] = {}
        self._log_shown: tuple[str, int] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._refresh)
        self._timer.start()

    def _build_main(self) -> QWidget:
        page = QWidget()
        self.server = named(QLabel(), "jobsServer")
        self.kind = named(QComboBox(), "kindCombo")
        self.description = named(QLabel(), "jobDescription")
        self.description.setWordWrap(True)
        self.forms = QStackedWidget()
        self.start = named(QPushButton("Start job"), "startJob")
        self.table = named(QTableView(), "jobsView")
        self.table.setModel(self.model)
        self.table.setItemDelegate(ProgressDelegate(self.table))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        # The dock is ~300 px beside a 1366 px window's timeline: the short
        # columns take their text's width, progress (a bar and "100 %", or the
        # text alone when narrow), status and stream share the rest (elided),
        # nothing scrolls sideways.  The
        # job's id is in its log and in the status line, so its column stays
        # out of this narrow table.
        header.setMinimumSectionSize(36)
        header.setStretchLastSection(False)
        for column in range(len(JOB_COLUMNS)):
            stretch = column in (PROGRESS, STATUS, STREAM)
            header.setSectionResizeMode(
                column,
                QHeaderView.ResizeMode.Stretch
                if stretch
                else QHeaderView.ResizeMode.ResizeToContents,
            )
        self.table.setColumnHidden(JOB, True)
        self.cancel = named(QPushButton("Cancel job"), "cancelJob")
        self.follow = named(QPushButton("Stop stream"), "followJob")
        self.open = named(QPushButton("Open in tab"), "openJob")
        self.log = named(JobLog(), "jobLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setPlaceholderText("The selected job's log")
        self.status = named(QLabel(), "jobsStatus")
        self.status.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(named(QLabel("New job"), "sectionTitle"))
        top.addWidget(self.kind, 1)
        top.addWidget(self.start)
        actions = QHBoxLayout()
        for button in (self.cancel, self.follow, self.open):
            actions.addWidget(button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.server)
        layout.addLayout(top)
        layout.addWidget(self.description)
        layout.addWidget(self.forms)
        layout.addWidget(named(QLabel("Jobs"), "sectionTitle"))
        layout.addWidget(self.table, 2)
        layout.addLayout(actions)
        layout.addWidget(self.log, 3)
        layout.addWidget(self.status)

        self.kind.currentTextChanged.connect(self._kind_changed)
        self.start.clicked.connect(self._start)
        self.cancel.clicked.connect(lambda: self._on_selected(self.cancelRequested))
        self.follow.clicked.connect(self._toggle_follow)
        self.open.clicked.connect(lambda: self._on_selected(self.openRequested))
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._refresh())
        return page

    # -- what the controller says -------------------------------------------------

    def set_available(self, available: bool, message: str) -> None:
        if available:
            self.server.setText(message)
            self.pages.setCurrentIndex(1)
        else:
            self.notice.setText(message)
            self.pages.setCurrentIndex(0)

    def set_kinds(self, kinds: list[JobKind]) -> None:
        current = self.kind.currentText()
        self.kind.blockSignals(True)
        self.kind.clear()
        for form in self._forms.values():
            self.forms.removeWidget(form)
            form.deleteLater()
        self._forms = {k.name: SchemaForm(k.params) for k in kinds}
        self._descriptions = {k.name: k.description for k in kinds}
        for kind in kinds:
            self.kind.addItem(kind.name)
            self.forms.addWidget(self._forms[kind.name])
        self.kind.blockSignals(False)
        if current in self._forms:
            self.kind.setCurrentText(current)
        self._kind_changed(self.kind.currentText())

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def form(self, kind: str) -> SchemaForm:
        return self._forms[kind]

    # -- intents ----------------------------------------------------------------------

    def _kind_changed(self, kind: str) -> None:
        form = self._forms.get(kind)
        if form is not None:
            self.forms.setCurrentWidget(form)
        self.description.setText(self._descriptions.get(kind, "").replace("`", ""))

    def _start(self) -> None:
        kind = self.kind.currentText()
        form = self._forms.get(kind)
        if form is None:
            return
        try:
            params = form.values()
        except ValueError as exc:
            self.show_message(f"A parameter is not valid JSON: {exc}")
            return
        self.startRequested.emit(kind, params)

    def selected(self) -> JobRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def _on_selected(self, signal: SignalInstance) -> None:
        row = self.selected()
        if row is not None:
            signal.emit(row.id)

    def _toggle_follow(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.follower is not None and row.follower.running:
            self.stopFollowingRequested.emit(row.id)
        else:
            self.followRequested.emit(row.id)

    # -- rendering -------------------------------------------------------------------

    def _refresh(self) -> None:
        row = self.selected()
        for button in (self.cancel, self.follow, self.open):
            button.setEnabled(row is not None)
        if row is None:
            if self._log_shown is not None:
                self._log_shown = None
                self.log.clear()
            return
        self.cancel.setEnabled(row.finished_at is None and row.end is None)
        followed = row.follower is not None and row.follower.running
        self.follow.setText("Stop stream" if followed else "Follow stream")
        shown = self._log_shown
        bar = self.log.verticalScrollBar()
        follow = bar.value() >= bar.maximum() - 2  # unless the user scrolled up
        if shown is None or shown[0] != row.id:
            self.log.setPlainText("\n".join(row.log))
            follow = True
        elif shown[1] != row.log_version:
            new = min(row.log_version - shown[1], len(row.log))
            lines = list(row.log)[-new:]
            self.log.appendPlainText("\n".join(lines))
        else:
            follow = False
        if follow:  # the layout is lazy: a cursor at the end scrolls for sure
            self.log.moveCursor(QTextCursor.MoveOperation.End)
            self.log.moveCursor(QTextCursor.MoveOperation.StartOfBlock)
            self.log.ensureCursorVisible()
        self._log_shown = (row.id, row.log_version)
