"""The jobs list: one row per job, updated from the API and from each job's stream."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.core.engine.state import State
from desktop.core.jobs import FINISHED, JobEnd, LogLine, ProgressUpdate, StatusUpdate
from desktop.ui import row_text

if TYPE_CHECKING:
    from PySide6.QtCore import QObject

    from desktop.core.jobs import Job, JobUpdate
    from desktop.ui.session import StreamSession

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Kind", "Progress", "Status", "Elapsed", "Stream", "Job")
KIND, PROGRESS, STATUS, ELAPSED, STREAM, JOB = range(len(COLUMNS))
PERCENT_ROLE = Qt.ItemDataRole.UserRole + 1
LOG_LINES = 5_000
_DISPLAY = Qt.ItemDataRole.DisplayRole


@dataclass(eq=False)
class JobRow:
    """What the app knows of one job; ``follower`` is its stream, while followed."""

    id: str
    kind: str
    status: str
    events_url: str
    phase: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    done: int = 0
    total: int = 0
    percent: float = 0.0
    unit: str = "steps"
    end: JobEnd | None = None
    follower: StreamSession | None = None
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    log_version: int = 0  # bumps on every new line, so the log view knows

    def update(self, job: Job) -> None:
        """Take a snapshot from the API, unless the stream already told us more.

        A cancel's response shows the job still running while its stream may
        already have delivered ``end``: a finished row never goes back.
        """
        if self.end is not None or self.status in FINISHED:
            return
        self.status, self.phase, self.error = job.status, job.phase, job.error
        self.started_at, self.finished_at = job.started_at, job.finished_at
        if job.total:
            self.done, self.total = job.done, job.total
            self.percent = 100.0 * job.done / job.total
        if job.finished and job.status == "succeeded":
            self.percent = 100.0

    def apply(self, update: JobUpdate, wall: float) -> None:
        if isinstance(update, StatusUpdate):
            self.status = update.status
            self.phase = update.phase or self.phase
            if update.status == "running" and self.started_at is None:
                self.started_at = wall
        elif isinstance(update, ProgressUpdate):
            self.done, self.total = update.done, update.total
            self.percent, self.unit = update.percent, update.unit
        elif isinstance(update, LogLine):
            # Only what stands out is tagged: "INFO    " before every line cost
            # the 300 px dock the file name at the end of "Compiling src/…".
            level = update.level.lower()
            tag = "" if level == "info" else f"{level.upper()} "
            self.log.append(f"{tag}{update.line}")
            self.log_version += 1
        else:
            self.end = update
            self.status, self.error = update.status, update.error
            if self.finished_at is None:
                self.finished_at = wall
            if update.status == "succeeded":
                self.percent = 100.0

    def elapsed(self, now: float) -> float | None:
        if self.started_at is None:
            return None
        return (self.finished_at or now) - self.started_at

    def stream_state(self) -> str:
        session = self.follower
        if session is None:
            return "not followed"
        if session.state is State.CLOSED:
            ended = "closed after end" if self.end is not None else "closed"
            return f"{ended}, {len(session.attempts)} connection(s)"
        if session.state is State.RECONNECTING:
            return "reconnecting"
        return "idle" if session.state is None else str(session.state.value)


class JobsModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[JobRow] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = _DISPLAY
    ) -> object:
        if role == _DISPLAY and orientation is Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = _DISPLAY) -> object:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == PERCENT_ROLE:
            return row.percent
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS and row.error:
            return row.error
        if role != _DISPLAY:
            return None
        if column == JOB:
            return row.id
        if column == KIND:
            return row.kind
        if column == STATUS:
            return f"{row.status} · {row.phase}" if row.phase else str(row.status)
        if column == PROGRESS:
            return f"{row.percent:.0f} %"
        if column == ELAPSED:
            elapsed = row.elapsed(time.time())
            return "" if elapsed is None else row_text.seconds(elapsed)
        return row.stream_state()

    def find(self, job_id: str) -> JobRow | None:
        return next((row for row in self.rows if row.id == job_id), None)

    def upsert(self, job: Job) -> JobRow:
        row = self.find(job.id)
        if row is None:
            # No status yet, so update() takes a finished job's snapshot whole
            # (a reload would otherwise list it at 0 % with no elapsed time).
            row = JobRow(job.id, job.kind, "", job.events_url)
            row.update(job)
            self.beginInsertRows(QModelIndex(), 0, 0)
            self.rows.insert(0, row)  # newest first
            self.endInsertRows()
        else:
            row.update(job)
            self.changed(row)
        return row

    def changed(self, row: JobRow | None = None) -> None:
        if not self.rows:
            return
        if row is None:
            first, last = 0, len(self.rows) - 1
        else:
            first = last = self.rows.index(row)
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def clear(self) -> None:
        self.beginResetModel()
        self.rows = []
        self.endResetModel()
