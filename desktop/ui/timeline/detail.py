"""The detail pane: the selected row's fields and its data, JSON pretty and coloured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QGuiApplication,
    QSyntaxHighlighter,
    QTextCharFormat,
)
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.engine.records import Event
from desktop.ui import row_text, theme
from desktop.ui.theme import named
from desktop.ui.timeline import payload

if TYPE_CHECKING:
    from PySide6.QtGui import QColor, QTextDocument

    from desktop.core.store import Row

HIGHLIGHT_LIMIT = 256 << 10  # colouring a bigger document costs more than it helps


class JsonHighlighter(QSyntaxHighlighter):
    """Keys, strings, numbers, literals and punctuation, one regex pass per line."""

    _RULES = (
        ("punct", r"[{}\[\],:]"),
        ("number", r"-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b"),
        ("literal", r"\b(?:true|false|null)\b"),
        ("string", r'"(?:[^"\\]|\\.)*"'),
        ("key", r'"(?:[^"\\]|\\.)*"(?=\s*:)'),
    )

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.enabled = True
        self.set_colours()

    def set_colours(self) -> None:
        """Take the active theme's colours (again, after a live theme switch)."""
        colours = theme.palette()
        by_name: dict[str, QColor] = {
            "punct": colours.json_punct,
            "number": colours.json_number,
            "literal": colours.json_literal,
            "string": colours.json_string,
            "key": colours.json_key,
        }
        self._rules: list[tuple[QRegularExpression, QTextCharFormat]] = []
        for name, pattern in self._RULES:
            fmt = QTextCharFormat()
            fmt.setForeground(by_name[name])
            if name == "key":
                fmt.setFontWeight(QFont.Weight.DemiBold)
            self._rules.append((QRegularExpression(pattern), fmt))
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802
        if not self.enabled:
            return
        for regex, fmt in self._rules:  # later rules win: strings over numbers
            matches = regex.globalMatch(text)
            while matches.hasNext():
                match = matches.next()
                self.setFormat(match.capturedStart(), match.capturedLength(), fmt)


class DetailPane(QFrame):
    """Renders one row; Copy puts its data, or the whole record, on the clipboard."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPane")
        self._row: Row | None = None
        self.title = named(QLabel("Select a row to see it whole"), "detailTitle")
        self.fields = QFormLayout()
        self.fields.setContentsMargins(0, 0, 0, 0)
        self.fields.setHorizontalSpacing(12)
        self.fields.setVerticalSpacing(1)
        self._values: dict[str, QLabel] = {}
        for name in ("id", "type", "retry", "connection", "received", "size"):
            label = named(QLabel(), "detailValue")
            label.setTextInteractionFlags(
                label.textInteractionFlags().TextSelectableByMouse
            )
            self._values[name] = label
            self.fields.addRow(named(QLabel(name), "detailKey"), label)
        self.note = named(QLabel(), "detailNote")
        self.note.hide()
        self.text = named(QPlainTextEdit(), "detailText")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.highlighter = JsonHighlighter(self.text.document())
        self.copy_text = named(QPushButton("Copy data"), "copyText")
        self.copy_json = named(QPushButton("Copy as JSON"), "copyJson")
        self.copy_text.setEnabled(False)
        self.copy_json.setEnabled(False)

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.copy_text)
        head.addWidget(self.copy_json)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(head)
        layout.addLayout(self.fields)
        layout.addWidget(self.note)
        layout.addWidget(self.text, 1)
        self.copy_text.clicked.connect(self._copy_text)
        self.copy_json.clicked.connect(self._copy_json)

    @property
    def row(self) -> Row | None:
        return self._row

    def show_row(self, row: Row | None) -> None:
        if row is self._row:
            return
        self._row = row
        self.copy_text.setEnabled(row is not None)
        self.copy_json.setEnabled(row is not None)
        if row is None:
            self.title.setText("Select a row to see it whole")
            for label in self._values.values():
                label.clear()
            self.note.hide()
            self.text.clear()
            return
        rendered = payload.render(row)
        is_event = isinstance(row, Event)
        kind = "JSON" if rendered.is_json else "text"
        response = getattr(row, "response", None)
        if is_event:
            self.title.setText(f"{row_text.kind(row)} · {kind}")
        elif response is not None:  # the body says why: shown like event data
            title = f"{row_text.kind(row)} · HTTP {response.status} · {kind} body"
            self.title.setText(title)
        else:
            self.title.setText(row_text.kind(row))
        number = row_text.connection(row)
        values = {
            "id": row.id if is_event else "",  # type: ignore[union-attr]
            "type": row_text.kind(row),
            "retry": _retry(row),
            "connection": "" if number is None else str(number),
            "received": f"{row_text.clock(row.wall)}  (monotonic {row.at:.6f})",
            "size": row_text.human_bytes(row_text.data_size(payload.payload(row))),
        }
        for name, value in values.items():
            self._values[name].setText(value or "—")
        self.note.setText(rendered.note)
        self.note.setVisible(bool(rendered.note))
        self.highlighter.enabled = (
            rendered.is_json and len(rendered.text) < HIGHLIGHT_LIMIT
        )
        self.text.setPlainText(rendered.text)

    def shown_text(self) -> str:
        return self.text.toPlainText()

    def _copy_text(self) -> None:
        if self._row is not None:
            QGuiApplication.clipboard().setText(payload.payload(self._row))

    def _copy_json(self) -> None:
        if self._row is not None:
            QGuiApplication.clipboard().setText(payload.as_json(self._row))


def _retry(row: Row) -> str:
    retry = getattr(row, "retry", None)
    return "" if retry is None else f"{retry} ms"
