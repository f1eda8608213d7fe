"""Stream → Check this server…: doctor's card for the stream tab in front.

Runs the same examination as ``sse-viewer doctor`` (desktop/core/doctor) on the
request the tab's form holds, on the window's controller, and fills the card
in as checks complete: a status icon, the title, the evidence and the fix per
row, the why and source of the selected one below.  Export HTML writes the
same page as ``doctor --html``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.core.doctor.checks import CATALOG, Status, selected
from desktop.core.doctor.examine import examine
from desktop.core.doctor.probe import DEFAULT_DURATION_S, Plan, reconnects_allowed
from desktop.core.doctor.report import Subject, html_card, summary
from desktop.ui.form_error import RequestError
from desktop.ui.request import build_options

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

    from desktop.core.doctor.checks import Check
    from desktop.core.engine.options import StreamOptions
    from desktop.ui.window_api import WindowApi

_ICONS = {
    Status.PASS: QStyle.StandardPixmap.SP_DialogApplyButton,
    Status.WARN: QStyle.StandardPixmap.SP_MessageBoxWarning,
    Status.FAIL: QStyle.StandardPixmap.SP_MessageBoxCritical,
    Status.NOT_APPLICABLE: QStyle.StandardPixmap.SP_MessageBoxInformation,
    Status.SKIPPED: QStyle.StandardPixmap.SP_MediaSkipForward,
}
_LABELS = {
    Status.PASS: "pass",
    Status.WARN: "warn",
    Status.FAIL: "fail",
    Status.NOT_APPLICABLE: "n/a",
    Status.SKIPPED: "skipped",
}
Index = QModelIndex | QPersistentModelIndex


class CardModel(QAbstractTableModel):
    """The card's rows: one per selected check, pending until its verdict comes."""

    COLUMNS = ("Status", "Check", "Evidence", "Fix")

    def __init__(self, ids: list[str], style: QStyle) -> None:
        super().__init__()
        self.ids = ids
        self.checks: dict[str, Check] = {}
        self._icons: dict[Status, QIcon] = {
            s: style.standardIcon(p) for s, p in _ICONS.items()
        }

    def reset(self) -> None:
        self.beginResetModel()
        self.checks.clear()
        self.endResetModel()

    def put(self, check: Check) -> None:
        row = self.ids.index(check.id)
        self.checks[check.id] = check
        last = len(self.COLUMNS) - 1
        self.dataChanged.emit(self.index(row, 0), self.index(row, last))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(  # noqa: N802
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> object:
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
        ):
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        check_id = self.ids[index.row()]
        check = self.checks.get(check_id)
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return "…" if check is None else _LABELS[check.status]
            if column == 1:
                return CATALOG[check_id]
            if check is None:
                return "" if column == 3 else "checking…"
            if column == 2:
                return check.evidence
            return check.fix if check.status in (Status.WARN, Status.FAIL) else ""
        if role == Qt.ItemDataRole.DecorationRole and column == 0 and check:
            return self._icons[check.status]
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return check_id
        return None


def detail_text(check: Check) -> str:
    """The selected check's id, why, fix, source and what could not be judged."""
    parts = [f"{check.title} ({check.id}): {check.evidence}"]
    for name, value in (
        ("Why", check.why),
        ("Fix", check.fix),
        ("See", check.source),
        ("Could not judge", check.unjudged),
    ):
        if value:
            parts.append(f"{name}: {value}")
    return "\n".join(parts)


def card_size(free: QSize | None) -> QSize:
    """1180x760, or 90 % of the screen's free area where that is smaller: at
    760 px tall on a 768 px laptop the buttons were under the taskbar."""
    if free is None:
        return QSize(1180, 760)
    return QSize(min(1180, free.width() * 9 // 10), min(760, free.height() * 9 // 10))


class DoctorCard(QDialog):
    """The card for one stream; ``run`` (again) examines the tab's request."""

    def __init__(
        self,
        parent: QWidget,
        api: WindowApi,
        options: StreamOptions,
        *,
        duration_s: float = DEFAULT_DURATION_S,
        native: bool = True,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("doctorCard")
        self.setWindowTitle("Check this server")
        self.api = api
        self.options = options
        self.plan = Plan(duration_s=duration_s)
        self.native = native
        self.task: asyncio.Task[None] | None = None
        self.file_dialog: QFileDialog | None = None
        ids = [i for i in CATALOG if selected(i, self.plan.checks)]
        self.model = CardModel(ids, self.style())
        self.heading = QLabel()
        self.heading.setObjectName("doctorHeading")
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        self.progress = QLabel()
        self.progress.setObjectName("doctorProgress")
        self.table = QTableView()
        self.table.setObjectName("doctorTable")
        self.table.setModel(self.model)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(1, 250)
        self.detail = QLabel()
        self.detail.setObjectName("doctorDetail")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.detail.setMinimumHeight(90)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = QPushButton("Export HTML…")
        self.again_button = QPushButton("Run again")
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.again_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        self.export_button.clicked.connect(self._choose_export)
        self.again_button.clicked.connect(self.run)
        self.table.selectionModel().currentRowChanged.connect(self._show_detail)
        self.model.dataChanged.connect(self._changed)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.progress)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addWidget(buttons)
        self._fit_screen(parent)

    def _fit_screen(self, parent: QWidget) -> None:
        screen = parent.screen()
        free = screen.availableGeometry().size() if screen is not None else None
        self.resize(card_size(free))

    # -- running ----------

    def run(self) -> None:
        """Examine the stream (again); the previous run, if any, is cancelled."""
        if self.task is not None:
            self.task.cancel()
        self.model.reset()
        self.detail.clear()
        method = self.options.method.upper()
        note = ""
        if not reconnects_allowed(self.options, self.plan):
            note = f" — a {method}: no deliberate reconnects (they would repeat it)"
        self.heading.setText(
            f"{method} {self.options.url} — watching for "
            f"{self.plan.duration_s:g} s, with deliberate drops and reconnects{note}"
        )
        self.export_button.setEnabled(False)
        self.again_button.setEnabled(False)
        self._show_progress()
        self.task = self.api.controller.spawn(self._examine())

    async def _examine(self) -> None:
        me = asyncio.current_task()

        def put(check: Check) -> None:
            if self.task is me:  # not a run that Run again replaced
                self.model.put(check)

        try:
            await examine(self.options, self.plan, put)
        finally:
            if self.task is me:
                self.task = None
                self.export_button.setEnabled(True)
                self.again_button.setEnabled(True)
                self._show_progress()

    @property
    def complete(self) -> bool:
        return self.task is None and len(self.model.checks) == len(self.model.ids)

    def checks(self) -> list[Check]:
        return [self.model.checks[i] for i in self.model.ids if i in self.model.checks]

    def _changed(self) -> None:
        self.table.resizeRowsToContents()
        self._show_progress()

    def _show_progress(self) -> None:
        checks = self.checks()
        counts = ", ".join(f"{n} {s}" for s, n in summary(checks).items() if n)
        if self.task is not None:
            text = f"Checking… {len(checks)} of {len(self.model.ids)} done"
            self.progress.setText(f"{text}: {counts}" if counts else text)
        else:
            self.progress.setText(f"Done: {counts}" if counts else "Stopped")

    def _show_detail(self, current: QModelIndex, _previous: QModelIndex) -> None:
        check = self.model.checks.get(self.model.ids[current.row()])
        self.detail.setText("" if check is None else detail_text(check))

    # -- export ----------

    def html(self) -> str:
        subject = Subject(self.options.url, self.options.method, self.plan.duration_s)
        return html_card(subject, self.checks())

    def export_html(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as file:
            file.write(self.html())

    def _choose_export(self) -> None:
        # Window-modal with open(): a nested exec() would stall the asyncio loop.
        dialog = QFileDialog(self, "Export the card as HTML")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("HTML (*.html)")
        dialog.setDefaultSuffix("html")
        dialog.selectFile("doctor.html")
        if not self.native:
            dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
        dialog.fileSelected.connect(self.export_html)
        self.file_dialog = dialog
        dialog.open()

    def closeEvent(self, event: object) -> None:  # noqa: N802
        if self.task is not None:
            self.task.cancel()
        super().closeEvent(event)  # type: ignore[arg-type]


def open_card(
    parent: QWidget, api: WindowApi, *, duration_s: float = DEFAULT_DURATION_S
) -> DoctorCard | None:
    """The card for the tab in front, running; None without a tab or with a
    form that is not a request (the form says why)."""
    view = api.current_view()
    if view is None:
        return None
    try:
        options = build_options(view.bar.form(), comments=True)
    except RequestError as exc:
        view.bar.show_error(exc.message)
        return None
    card = DoctorCard(parent, api, options, duration_s=duration_s)
    card.show()
    card.run()
    return card
